//! Code generation: cannot fail. Every call is spanned at the stage the user wrote, so that
//! rustc's type errors point there; every path is absolute (`::streams_runtime::...`).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use super::ast::{Arg, Head, NamedArg, Source, Stage, Topology};
use super::check::{default_branch_name, split_branches, Plan};
use super::stages;

/// The errors, and a stub of the right type so that code using the topology does not pile
/// up follow-on errors.
pub(crate) fn with_errors(errors: TokenStream) -> TokenStream {
    quote! {{
        #errors
        ::streams_runtime::StreamsBuilder::new().build()
    }}
}

fn builder() -> Ident {
    Ident::new("__streams_builder", Span::mixed_site())
}

/// The topology as calls of the typed builder. Each stage is its own statement,
/// `let p = p.stage(...);`, whose tokens all carry the stage's span: rustc's errors about a
/// stage (an unmet bound, a missing method) point at the stage the user wrote.
pub(crate) fn expand(topology: &Topology, plan: &Plan) -> TokenStream {
    let b = builder();
    let uses = |name: &Ident| plan.uses.get(&name.to_string()).copied().unwrap_or(0);
    let mut statements = Vec::new();
    for (i, statement) in topology.statements.iter().enumerate() {
        let pipeline = &statement.pipeline;
        let head_span = match &pipeline.head {
            Head::Source(s) => s.kind.span(),
            Head::Name(n) => n.span(),
        };
        // Spanned at the user's tokens (not `mixed_site`): rustc joins the spans of a call, and a
        // call mixing hygiene contexts would be reported at the whole macro.
        // One name per step, not shadowing: rustc would otherwise suggest the shadowed ones.
        let var = |j: usize, span: Span| format_ident!("__streams_p{}_{}", i, j, span = span);
        let head = match &pipeline.head {
            Head::Source(source) => source_call(source),
            Head::Name(name) => use_of(name, &uses),
        };
        let first = var(0, head_span);
        statements.push(quote_spanned!(head_span=> let #first = #head;));
        let mut last = first;
        let mut ended = false;
        for (j, stage) in pipeline.stages.iter().enumerate() {
            let span = stage.name.span();
            let (recv, next) = (var(j, span), var(j + 1, span));
            if stage.name == "split" {
                statements.push(split(i, quote!(#recv), stage));
                ended = true;
                break;
            }
            let call = match plan.join_methods.get(&(stage as *const Stage as usize)) {
                Some(method) => join_call(stage, method, &uses),
                None => stage_call(stage, &uses),
            };
            let spec = stages::lookup(&stage.name.to_string()).expect("checked stage");
            if spec.output == stages::Shape::Ended {
                statements.push(quote_spanned!(span=> #recv #call;));
                ended = true;
            } else {
                statements.push(quote_spanned!(span=> let #next = #recv #call;));
                last = next;
            }
        }
        if let (Some(name), false) = (&statement.binding, ended) {
            let share = (uses(name) > 1 && !pipeline.stages.is_empty())
                .then(|| quote_spanned!(name.span()=> .share()));
            statements.push(quote_spanned!(name.span()=> let #name = #last #share;));
        }
    }
    let build = match topology.attributes.iter().find(|a| a.name == "optimization") {
        Some(attribute) => {
            let value = &attribute.value;
            quote_spanned!(value.span()=> #b.build_optimized(
                ::streams_runtime::Optimizations::parse(#value).expect("checked by topology!")
            ))
        }
        None => quote!(#b.build()),
    };
    quote! {{
        let #b = ::streams_runtime::StreamsBuilder::new();
        #(#statements)*
        #build
    }}
}

/// A bound name; cloned when it is used more than once (fan-out).
fn use_of(name: &Ident, uses: &dyn Fn(&Ident) -> usize) -> TokenStream {
    if uses(name) > 1 {
        quote_spanned!(name.span()=> ::core::clone::Clone::clone(&#name))
    } else {
        quote!(#name)
    }
}

fn source_call(source: &Source) -> TokenStream {
    let b = builder();
    let (kind, key, value) = (&source.kind, &source.key, &source.value);
    let span = kind.span();
    let option = |n: &str| source.options.iter().find(|o| o.name == n).map(|o| arg(&o.value));
    let topics = &source.topics;
    let named = option("name").map(|name| quote_spanned!(span=> .named(#name)));
    if let Some(pattern) = option("pattern") {
        let method = format_ident!("{}_pattern", kind.to_string(), span = span);
        return quote_spanned!(span=> #b #named.#method::<#key, #value>(#pattern));
    }
    if topics.len() > 1 {
        let method = format_ident!("{}_topics", kind.to_string(), span = span);
        return quote_spanned!(span=> #b #named.#method::<#key, #value>(&[#(#topics),*]));
    }
    quote_spanned!(span=> #b #named.#kind::<#key, #value>(#(#topics),*))
}

fn arg(arg: &Arg) -> TokenStream {
    match arg {
        Arg::Expr(e) => quote!(#e),
        Arg::Duration(d) => {
            let millis = d.millis;
            quote_spanned!(d.span=> ::core::time::Duration::from_millis(#millis))
        }
    }
}

fn named(stage: &Stage) -> TokenStream {
    match stage.options.iter().find(|o| o.name == "name") {
        Some(NamedArg { name, value }) => {
            let value = arg(value);
            quote_spanned!(name.span()=> .named(#value))
        }
        None => TokenStream::new(),
    }
}

fn stage_call(stage: &Stage, uses: &dyn Fn(&Ident) -> usize) -> TokenStream {
    let span = stage.name.span();
    // The check phase refused unknown stages, so the table has this one.
    let spec = stages::lookup(&stage.name.to_string()).expect("checked stage");
    let named = named(stage);
    let args: Vec<TokenStream> = stage
        .args
        .iter()
        .enumerate()
        .map(|(i, a)| match (spec.args.get(i), a) {
            (Some(stages::ArgKind::Stream), Arg::Expr(syn::Expr::Path(p))) => {
                let name = p.path.get_ident().expect("checked");
                use_of(name, uses)
            }
            _ => arg(a),
        })
        .collect();
    if ["process", "process_values", "transform_values"].contains(&spec.name) {
        let method = Ident::new(spec.method, span);
        let stores = match stage.options.iter().find(|o| o.name == "stores").map(|o| &o.value) {
            Some(Arg::Expr(syn::Expr::Array(list))) => list.elems.iter().cloned().collect(),
            _ => Vec::new(),
        };
        return quote_spanned!(span=> #named.#method(#(#args),*, &[#(&#stores as &dyn ::streams_runtime::processor::StoreSpec),*]));
    }
    if spec.name == "repartition" {
        let method = Ident::new(spec.method, span);
        let partitions = stage.options.iter().find(|o| o.name == "partitions").map(|o| {
            let n = arg(&o.value);
            quote_spanned!(o.name.span()=> .with_number_of_partitions(#n))
        });
        return quote_spanned!(span=> #named.#method(::streams_runtime::Repartitioned::new() #partitions));
    }
    if spec.name == "suppress" {
        let method = Ident::new(spec.method, span);
        let buffer = match stage.options.iter().find(|o| o.name == "max_records") {
            Some(o) => {
                let n = arg(&o.value);
                quote_spanned!(o.name.span()=> ::streams_runtime::BufferConfig::max_records(#n))
            }
            None => quote_spanned!(span=> ::streams_runtime::BufferConfig::unbounded()),
        };
        return quote_spanned!(span=> #named.#method(::streams_runtime::Suppressed::until_time_limit(#(#args),*, #buffer)));
    }
    if let Some(windows) = window_spec(stage) {
        let method = Ident::new(spec.method, span);
        return quote_spanned!(span=> #named.#method(#windows));
    }
    let method = match (&stage.generics, spec.name) {
        (Some(_), "to") => Ident::new("to_with", span),
        _ => Ident::new(spec.method, span),
    };
    let generics = &stage.generics;
    quote_spanned!(span=> #named.#method #generics (#(#args),*))
}

/// A join: the other side, the join window (`within(...)` becomes `JoinWindows`), the joiner.
fn join_call(stage: &Stage, method: &str, uses: &dyn Fn(&Ident) -> usize) -> TokenStream {
    let span = stage.name.span();
    let named = named(stage);
    let mut args = Vec::new();
    for (i, a) in stage.args.iter().enumerate() {
        args.push(match a {
            Arg::Expr(syn::Expr::Path(p)) if i == 0 => use_of(p.path.get_ident().expect("checked"), uses),
            Arg::Expr(syn::Expr::Call(call)) if i == 1 && !method.starts_with("foreign_key") => {
                join_windows(call)
            }
            other => arg(other),
        });
    }
    let method = Ident::new(method, span);
    quote_spanned!(span=> #named.#method(#(#args),*))
}

fn duration_expr(e: &syn::Expr) -> TokenStream {
    match e {
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) if !i.suffix().is_empty() => {
            match super::duration::from_int(i) {
                Ok(d) => arg(&Arg::Duration(d)),
                Err(_) => quote!(#e), // reported by check
            }
        }
        other => quote!(#other),
    }
}

fn join_windows(call: &syn::ExprCall) -> TokenStream {
    let span = syn::spanned::Spanned::span(call);
    let mut base = None;
    let mut options = Vec::new();
    for a in &call.args {
        match a {
            syn::Expr::Assign(assign) => {
                let name = match &*assign.left {
                    syn::Expr::Path(p) => p.path.get_ident().cloned(),
                    _ => None,
                };
                if let Some(name) = name {
                    let value = duration_expr(&assign.right);
                    options.push(quote_spanned!(name.span()=> .#name(#value)));
                }
            }
            other => base = Some(duration_expr(other)),
        }
    }
    quote_spanned!(span=> ::streams_runtime::JoinWindows::within(#base) #(#options)*)
}

/// The window definition of `window(size[, advance], grace = ...)`, `sliding(difference,
/// grace = ...)` or `session(gap, grace = ...)`.
fn window_spec(stage: &Stage) -> Option<TokenStream> {
    let span = stage.name.span();
    let args: Vec<TokenStream> = stage.args.iter().map(arg).collect();
    let grace = stage.options.iter().find(|o| o.name == "grace").map(|o| {
        let g = arg(&o.value);
        quote_spanned!(o.name.span()=> .grace(#g))
    });
    let first = args.first()?;
    Some(match stage.name.to_string().as_str() {
        "window" => {
            let advance = args.get(1).map(|a| quote_spanned!(span=> .advance_by(#a)));
            quote_spanned!(span=> ::streams_runtime::TimeWindows::of(#first) #advance #grace)
        }
        "sliding" => quote_spanned!(span=> ::streams_runtime::SlidingWindows::with_difference(#first) #grace),
        "session" => {
            quote_spanned!(span=> ::streams_runtime::SessionWindows::with_inactivity_gap(#first) #grace)
        }
        _ => return None,
    })
}

fn split(index: usize, chain: TokenStream, stage: &Stage) -> TokenStream {
    let span = stage.name.span();
    let var = format_ident!("__streams_split_{}", index, span = Span::mixed_site());
    let named = named(stage);
    let mut calls = Vec::new();
    for option in stage.options.iter().filter(|o| o.name != "name" && o.name != "default") {
        let (name, predicate) = (option.name.to_string(), arg(&option.value));
        calls.push(quote_spanned!(option.name.span()=> .branch(#name, #predicate)));
    }
    let end = match stage.options.iter().find(|o| o.name == "default").and_then(default_branch_name) {
        Some(default) => {
            let name = default.to_string();
            quote_spanned!(default.span()=> .default_branch(#name))
        }
        None => quote_spanned!(span=> .no_default_branch()),
    };
    let takes = split_branches(stage).into_iter().map(|branch| {
        let name = branch.to_string();
        quote_spanned!(branch.span()=> let #branch = #var.take(#name);)
    });
    quote_spanned! {span=>
        let mut #var = #chain #named.split() #(#calls)* #end;
        #(#takes)*
    }
}
