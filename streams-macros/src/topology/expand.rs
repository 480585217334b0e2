//! Code generation: cannot fail. Every call is spanned at the stage the user wrote, so that
//! rustc's type errors point there; every path is absolute (`::streams_runtime::...`).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use super::ast::{Arg, NamedArg, Source, Stage};
use super::ir::{self, Head, Kind, Resolved, Use};
use super::stages::{self, Form, WindowKind};

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

/// The span of the tokens the expansion writes for the user's tokens at `at`: reported there,
/// but resolved with `macro_rules` hygiene, so the expansion's own bindings (and the names the
/// topology binds) are invisible to the user's closures, and a user's variable cannot capture
/// them. Every token of a generated call gets it, so that rustc can join the call's spans
/// (a call mixing hygiene contexts would be reported at the whole macro).
fn hygienic(at: Span) -> Span {
    Span::mixed_site().located_at(at)
}

/// A name the topology binds (`let NAME = ..`, a split branch), as the expansion writes it.
fn bound(name: &Ident) -> Ident {
    Ident::new(&name.to_string(), hygienic(name.span()))
}

/// The topology as calls of the typed builder. Each stage is its own statement,
/// `let p = p.stage(...);`, whose tokens all carry the stage's span: rustc's errors about a
/// stage (an unmet bound, a missing method) point at the stage the user wrote.
pub(crate) fn expand(topology: &Resolved<'_>) -> TokenStream {
    let b = builder();
    let mut statements = Vec::new();
    for (i, statement) in topology.statements.iter().enumerate() {
        let head_span = match &statement.head {
            Head::Source(s) => s.kind.span(),
            Head::Name(n) => n.name.span(),
        };
        // One name per step, not shadowing: rustc would otherwise suggest the shadowed ones.
        let var = |j: usize, span: Span| format_ident!("__streams_p{}_{}", i, j, span = hygienic(span));
        let head = match &statement.head {
            Head::Source(source) => source_call(source),
            Head::Name(used) => use_of(*used),
        };
        let first = var(0, head_span);
        statements.push(quote_spanned!(hygienic(head_span)=> let #first = #head;));
        let mut last = first;
        let mut ended = false;
        for (j, stage) in statement.stages.iter().enumerate() {
            let span = stage.ast.name.span();
            let (recv, next) = (var(j, span), var(j + 1, span));
            let call = match &stage.kind {
                Kind::Split { branches, default } => {
                    statements.push(split(i, quote!(#recv), stage.ast, branches, *default));
                    ended = true;
                    break;
                }
                Kind::Join { method, window } => join_call(stage, method, *window),
                Kind::Plain => stage_call(stage),
            };
            let at = hygienic(span);
            if stage.spec.output == stages::Shape::Ended {
                statements.push(quote_spanned!(at=> #recv #call;));
                ended = true;
            } else {
                statements.push(quote_spanned!(at=> let #next = #recv #call;));
                last = next;
            }
        }
        if let (Some((name, shared)), false) = (statement.binding, ended) {
            let at = hygienic(name.span());
            let share = shared.then(|| quote_spanned!(at=> .share()));
            let name = bound(name);
            statements.push(quote_spanned!(at=> let #name = #last #share;));
        }
    }
    let build = match topology.optimization {
        Some(value) => quote_spanned!(value.span()=> #b.build_optimized(
            ::streams_runtime::Optimizations::parse(#value).expect("checked by topology!")
        )),
        None => quote!(#b.build()),
    };
    quote! {{
        let #b = ::streams_runtime::StreamsBuilder::new();
        #(#statements)*
        #build
    }}
}

/// A bound name; cloned when it is used more than once (fan-out).
fn use_of(used: Use<'_>) -> TokenStream {
    let name = bound(used.name);
    if used.clone {
        quote_spanned!(hygienic(used.name.span())=> ::core::clone::Clone::clone(&#name))
    } else {
        quote!(#name)
    }
}

fn source_call(source: &Source) -> TokenStream {
    let (kind, key, value) = (&source.kind, &source.key, &source.value);
    let span = hygienic(kind.span());
    let b = Ident::new("__streams_builder", span);
    let option = |n: &str| source.options.iter().find(|o| o.name == n).map(|o| arg(&o.value));
    let topics = &source.topics;
    let named = option("name").map(|name| quote_spanned!(span=> .named(#name)));
    if let (Some(history), Some(store)) = (option("versioned"), option("store")) {
        let method = format_ident!("versioned_{}", kind.to_string(), span = span);
        return quote_spanned!(span=> #b #named.#method::<#key, #value>(#(#topics),*, #store, #history));
    }
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
            quote_spanned!(hygienic(name.span())=> .named(#value))
        }
        None => TokenStream::new(),
    }
}

fn stage_call(resolved: &ir::Stage<'_>) -> TokenStream {
    let (stage, spec) = (resolved.ast, resolved.spec);
    let span = hygienic(stage.name.span());
    let named = named(stage);
    let args: Vec<TokenStream> = stage
        .args
        .iter()
        .enumerate()
        .map(|(i, a)| match resolved.bound_at(i) {
            Some(used) => use_of(used),
            None => arg(a),
        })
        .collect();
    let method = match (&stage.generics, spec.generic_method) {
        (Some(_), Some(generic)) => Ident::new(generic, span),
        _ => Ident::new(spec.method, span),
    };
    match spec.form {
        Form::WithStores => {
            let stores = match option(stage, "stores") {
                Some(Arg::Expr(syn::Expr::Array(list))) => list.elems.iter().cloned().collect(),
                _ => Vec::new(),
            };
            quote_spanned!(span=> #named.#method(#(#args),*, &[#(&#stores as &dyn ::streams_runtime::processor::StoreSpec),*]))
        }
        Form::Repartition => {
            let partitions = stage.options.iter().find(|o| o.name == "partitions").map(|o| {
                let n = arg(&o.value);
                quote_spanned!(o.name.span()=> .with_number_of_partitions(#n))
            });
            quote_spanned!(span=> #named.#method(::streams_runtime::Repartitioned::new() #partitions))
        }
        Form::Suppress => {
            let buffer = match stage.options.iter().find(|o| o.name == "max_records") {
                Some(o) => {
                    let n = arg(&o.value);
                    quote_spanned!(o.name.span()=> ::streams_runtime::BufferConfig::max_records(#n))
                }
                None => quote_spanned!(span=> ::streams_runtime::BufferConfig::unbounded()),
            };
            quote_spanned!(span=> #named.#method(::streams_runtime::Suppressed::until_time_limit(#(#args),*, #buffer)))
        }
        Form::Windows(kind) => {
            let windows = window_spec(stage, kind, &args);
            quote_spanned!(span=> #named.#method(#windows))
        }
        Form::Call | Form::Join | Form::Split => {
            let generics = &stage.generics;
            quote_spanned!(span=> #named.#method #generics (#(#args),*))
        }
    }
}

/// The value of option `name` of `stage`.
fn option<'a>(stage: &'a Stage, name: &str) -> Option<&'a Arg> {
    stage.options.iter().find(|o| o.name == name).map(|o| &o.value)
}

/// A join: the other side, the join window (`within(...)` becomes `JoinWindows`), the joiner.
fn join_call(resolved: &ir::Stage<'_>, method: &str, window: Option<&syn::ExprCall>) -> TokenStream {
    let stage = resolved.ast;
    let span = hygienic(stage.name.span());
    let named = named(stage);
    let mut args = Vec::new();
    for (i, a) in stage.args.iter().enumerate() {
        args.push(match (resolved.bound_at(i), window) {
            (Some(used), _) => use_of(used),
            (None, Some(call)) if i == 1 => join_windows(call),
            _ => arg(a),
        });
    }
    if method.ends_with("_with_grace") {
        // `join(table, joiner, grace = d)` is `join_with_grace(table, d, joiner)`.
        let grace = option(stage, "grace").map(arg);
        args.insert(1, quote!(#grace));
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
fn window_spec(stage: &Stage, kind: WindowKind, args: &[TokenStream]) -> TokenStream {
    let span = stage.name.span();
    let grace = stage.options.iter().find(|o| o.name == "grace").map(|o| {
        let g = arg(&o.value);
        quote_spanned!(o.name.span()=> .grace(#g))
    });
    let first = args.first();
    match kind {
        WindowKind::Time => {
            let advance = args.get(1).map(|a| quote_spanned!(span=> .advance_by(#a)));
            quote_spanned!(span=> ::streams_runtime::TimeWindows::of(#first) #advance #grace)
        }
        WindowKind::Sliding => {
            quote_spanned!(span=> ::streams_runtime::SlidingWindows::with_difference(#first) #grace)
        }
        WindowKind::Session => {
            quote_spanned!(span=> ::streams_runtime::SessionWindows::with_inactivity_gap(#first) #grace)
        }
    }
}

fn split(
    index: usize,
    chain: TokenStream,
    stage: &Stage,
    branches: &[&Ident],
    default: Option<&Ident>,
) -> TokenStream {
    let span = hygienic(stage.name.span());
    let var = format_ident!("__streams_split_{}", index, span = span);
    let named = named(stage);
    let mut calls = Vec::new();
    for option in stage.options.iter().filter(|o| o.name != "name" && o.name != "default") {
        let (name, predicate) = (option.name.to_string(), arg(&option.value));
        calls.push(quote_spanned!(hygienic(option.name.span())=> .branch(#name, #predicate)));
    }
    let end = match default {
        Some(default) => {
            let name = default.to_string();
            quote_spanned!(hygienic(default.span())=> .default_branch(#name))
        }
        None => quote_spanned!(span=> .no_default_branch()),
    };
    let takes = branches.iter().map(|branch| {
        let name = branch.to_string();
        let at = hygienic(branch.span());
        let branch = bound(branch);
        quote_spanned!(at=> let #branch = #var.take(#name);)
    });
    quote_spanned! {span=>
        let mut #var = #chain #named.split() #(#calls)* #end;
        #(#takes)*
    }
}
