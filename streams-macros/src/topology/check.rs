//! Whole-topology rules, checked over the finished syntax tree. Every error is collected and
//! reported at once, at the user's tokens.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::Ident;

use super::ast::{Arg, Head, NamedArg, Stage, Topology};
use super::ctxt::{did_you_mean, Ctxt};
use super::ir;
use super::stages::{self, shape_hint, ArgKind, Form, Shape, StageSpec, WindowKind, STAGES};

/// What `check` learns of one stage, kept for the resolved topology.
struct Fact<'a> {
    spec: &'static StageSpec,
    /// A join's builder method and window.
    join: Option<(&'static str, Option<&'a syn::ExprCall>)>,
}

/// The rules Kafka Streams' `topology.optimization` takes in a list (`StreamsConfig`).
const OPTIMIZATION_RULES: &[&str] =
    &["reuse.ktable.source.topics", "merge.repartition.topics", "single.store.self.join"];

/// `#![optimization = "..."]` is the one attribute; its value is one Kafka accepts.
fn check_attributes(cx: &mut Ctxt, attributes: &[super::ast::Attribute]) {
    let mut seen = false;
    for attribute in attributes {
        if attribute.name != "optimization" {
            cx.error(
                attribute.name.span(),
                format!(
                    "unknown topology attribute `{}`: the one there is reads `#![optimization = \"all\"]` (Kafka's `topology.optimization`)",
                    attribute.name
                ),
            );
            continue;
        }
        if std::mem::replace(&mut seen, true) {
            cx.error(attribute.name.span(), "`optimization` is given twice; give it once");
        }
        let value = attribute.value.value();
        let rules: Vec<&str> = value.split(',').map(str::trim).collect();
        let valid = match rules.as_slice() {
            ["all"] | ["none"] => true,
            _ => rules.iter().all(|r| OPTIMIZATION_RULES.contains(r)),
        };
        if !valid {
            cx.error(
                attribute.value.span(),
                format!(
                    "`{value}` is not a topology optimization: write \"all\", \"none\", or a comma-separated list of {}",
                    OPTIMIZATION_RULES.join(", ")
                ),
            );
        }
    }
}

/// Whether an argument is the pseudo-call `within(...)` of a join window.
fn is_within(arg: &Arg) -> bool {
    matches!(arg, Arg::Expr(syn::Expr::Call(call)) if matches!(&*call.func, syn::Expr::Path(p) if p.path.is_ident("within")))
}

struct Binding {
    span: Span,
    shape: Shape,
    uses: usize,
}

#[derive(Default)]
struct Scope {
    bindings: HashMap<String, Binding>,
    order: Vec<String>,
    /// Names a later statement binds (`let NAME` or a `split` branch), with what binds them:
    /// a use before that statement says to move it after.
    later: HashMap<String, &'static str>,
    /// Names used before the statement that binds them: that binding counts as used.
    used_early: Vec<String>,
    /// Bound names whose keys are windowed, with the codec that writes them.
    windowed_keys: HashMap<String, &'static str>,
    /// Bound tables that are versioned (a `table` with `versioned = ..`, then filters and
    /// mappings), with the source option that made them so.
    versioned: HashMap<String, Span>,
    /// A `split` whose branches could not be read: names used later may be its branches, so an
    /// unknown name is not a second error.
    unreadable_split: bool,
}

impl Scope {
    fn bind(&mut self, cx: &mut Ctxt, name: &Ident, shape: Shape) {
        let key = name.to_string();
        if let Some(first) = self.bindings.get(&key) {
            let mut err = syn::Error::new(
                name.span(),
                format!("`{key}` is bound twice in this topology; give this {} another name", shape.noun()),
            );
            err.combine(syn::Error::new(first.span, format!("`{key}` is first bound here")));
            cx.push(err);
            return;
        }
        self.later.remove(&key);
        let uses = usize::from(self.used_early.contains(&key));
        self.order.push(key.clone());
        self.bindings.insert(key, Binding { span: name.span(), shape, uses });
    }

    /// Marks a use of `name`; `None` (after an error) if it is not bound.
    fn use_name(&mut self, cx: &mut Ctxt, name: &Ident) -> Option<Shape> {
        let key = name.to_string();
        match self.bindings.get_mut(&key) {
            Some(b) => {
                b.uses += 1;
                Some(b.shape)
            }
            None if self.unreadable_split => None,
            None => {
                if let Some(binder) = self.later.get(&key) {
                    cx.error(
                        name.span(),
                        format!("`{key}` is used before {binder} that binds it; move this pipeline after that statement"),
                    );
                    self.used_early.push(key);
                    return None;
                }
                let close = did_you_mean(&key, self.order.iter().map(String::as_str)).map(str::to_string);
                let hint = match &close {
                    // The likely meant name counts as used: no second error about it.
                    Some(s) => {
                        if let Some(b) = self.bindings.get_mut(s) {
                            b.uses += 1;
                        }
                        format!("; did you mean `{s}`?")
                    }
                    None => "; bind it first with `let NAME = stream::<K, V>(\"topic\");`".into(),
                };
                cx.error(name.span(), format!("cannot find stream `{key}` in this topology{hint}"));
                None
            }
        }
    }
}

/// Checks the whole topology; resolves it if it is right.
pub(crate) fn check(topology: &Topology) -> syn::Result<ir::Resolved<'_>> {
    let mut cx = Ctxt::default();
    let mut scope = Scope::default();
    let mut facts: Vec<Vec<Fact<'_>>> = Vec::new();
    if topology.statements.is_empty() {
        cx.error(
            Span::call_site(),
            "empty topology: declare at least one pipeline, such as `stream::<String, String>(\"in\") |> to(\"out\");`",
        );
    }
    check_attributes(&mut cx, &topology.attributes);
    for statement in &topology.statements {
        if let Some(name) = &statement.binding {
            scope.later.entry(name.to_string()).or_insert("the `let`");
        }
        for stage in &statement.pipeline.stages {
            if stages::lookup(&stage.name.to_string()).is_some_and(|spec| spec.form == Form::Split) {
                for branch in split_branches(stage) {
                    scope.later.entry(branch.to_string()).or_insert("the `split`");
                }
            }
        }
    }
    for statement in &topology.statements {
        let pipeline = &statement.pipeline;
        let mut stage_facts = Vec::new();
        let mut shape = match &pipeline.head {
            Head::Source(source) => {
                check_source_options(&mut cx, source);
                check_codec(&mut cx, &source.key);
                check_codec(&mut cx, &source.value);
                let pattern = source.options.iter().any(|o| o.name == "pattern");
                if source.topics.is_empty() && !pattern {
                    let kind = &source.kind;
                    cx.error(kind.span(), format!("`{kind}` needs a topic: `{kind}::<K, V>(\"topic\")`"));
                }
                if source.kind != "stream" && (source.topics.len() > 1 || pattern) {
                    let kind = &source.kind;
                    cx.error(
                        kind.span(),
                        format!("a `{kind}` reads exactly one topic: `{kind}::<K, V>(\"topic\")`"),
                    );
                }
                Some(match source.kind.to_string().as_str() {
                    "table" => Shape::Table,
                    "global_table" => Shape::GlobalTable,
                    _ => Shape::Stream,
                })
            }
            Head::Name(name) => scope.use_name(&mut cx, name),
        };
        let mut last_span = match &pipeline.head {
            Head::Source(s) => s.kind.span(),
            Head::Name(n) => n.span(),
        };
        let mut ended_by: Option<&Ident> = None;
        let mut ending_stage: Option<&Stage> = None;
        // The codec of this pipeline's keys when they are windowed (after a windowed aggregation).
        let mut windowed_keys = match &pipeline.head {
            Head::Name(n) => scope.windowed_keys.get(&n.to_string()).copied(),
            Head::Source(_) => None,
        };
        // Where the table became versioned, while it is (KIP-914 semantics pass through
        // filters and mappings: Kafka's `isVersionedUpstream`).
        let mut versioned = match &pipeline.head {
            Head::Name(n) => scope.versioned.get(&n.to_string()).copied(),
            Head::Source(s) => s.options.iter().find(|o| o.name == "versioned").map(|o| o.name.span()),
        };
        for stage in &pipeline.stages {
            last_span = stage.name.span();
            if let Some(codec) = windowed_keys {
                check_windowed_key_codec(&mut cx, stage, codec);
            }
            if let (Some(at), true) = (versioned, stage.name == "suppress") {
                let mut err = syn::Error::new(
                    stage.name.span(),
                    "`suppress` needs a table that is not versioned (Kafka refuses it: \
                     \"suppress() is only supported for non-versioned KTables\"); read the topic \
                     with a plain `table`, or join the versioned table instead of suppressing it",
                );
                err.combine(syn::Error::new(at, "the table is versioned here"));
                cx.push(err);
            }
            versioned = versioned.filter(|_| VERSIONED_THROUGH.contains(&stage.name.to_string().as_str()));
            windowed_keys = match shape {
                Some(Shape::Windowed | Shape::SlidingWindowed) if stage.name != "emit_on_close" => {
                    Some("TimeWindowed")
                }
                Some(Shape::SessionWindowed) if stage.name != "emit_on_close" => Some("SessionWindowed"),
                _ if KEEP_KEYS.contains(&stage.name.to_string().as_str()) => windowed_keys,
                _ => None,
            };
            if let Some(ender) = ended_by {
                let name = stage.name.to_string();
                let fix = if ender == "split" {
                    // The branches were meant to be used here: no second error saying they are not.
                    for branch in split_branches(ending_stage.expect("split ended it")) {
                        if let Some(b) = scope.bindings.get_mut(&branch.to_string()) {
                            b.uses += 1;
                        }
                    }
                    "; go on from a branch by its name (`NAME |> ...;`)".to_string()
                } else if matches!(name.as_str(), "to" | "to_dynamic" | "foreach" | "split") {
                    format!(
                        "; to send one stream to several sinks, bind it (`let s = ...;`) and end one \
                         pipeline per sink (`s |> {ender}(..); s |> {name}(..);`)"
                    )
                } else {
                    format!("; move it before `{ender}`")
                };
                cx.error(
                    stage.name.span(),
                    format!("`{name}` comes after `{ender}`, which ends the pipeline{fix}"),
                );
                break;
            }
            let Some(spec) = stages::lookup(&stage.name.to_string()) else {
                let name = stage.name.to_string();
                if let Some(java) = stages::java_name_hint(&name) {
                    cx.error(stage.name.span(), java);
                    shape = None;
                    continue;
                }
                let hint = match did_you_mean(&name, STAGES.iter().map(|s| s.name)) {
                    Some(s) => format!("; did you mean `{s}`?"),
                    None => format!(
                        "; the stages are {}",
                        STAGES.iter().map(|s| format!("`{}`", s.name)).collect::<Vec<_>>().join(", ")
                    ),
                };
                cx.error(stage.name.span(), format!("unknown stage `{name}`{hint}"));
                shape = None;
                continue;
            };
            if spec.form == Form::Join {
                let (after, join) = check_join(&mut cx, &mut scope, stage, shape);
                shape = after;
                stage_facts.push(Fact { spec, join });
                continue;
            }
            stage_facts.push(Fact { spec, join: None });
            check_stage_args(&mut cx, &mut scope, spec, stage, shape);
            let mut misplaced = false;
            if let Some(current) = shape {
                if !spec.inputs.contains(&current) {
                    cx.error(stage.name.span(), shape_hint(spec, current));
                    misplaced = true;
                }
            }
            if spec.form == Form::Split {
                for branch in split_branches(stage) {
                    scope.bind(&mut cx, branch, Shape::Stream);
                    if let Some(codec) = windowed_keys {
                        scope.windowed_keys.insert(branch.to_string(), codec);
                    }
                }
            }
            if spec.output == Shape::Ended {
                ended_by = Some(&stage.name);
                ending_stage = Some(stage);
            }
            // After a misplaced stage the shape is a guess: the stages after it are not judged
            // against it (no false follow-on errors).
            shape = (!misplaced).then(|| spec.output_after(shape));
        }
        match (&statement.binding, ended_by) {
            (Some(name), Some(ender)) => cx.error(
                ender.span(),
                format!("`let {name}` binds a pipeline that `{ender}` ends, so there is nothing to bind; remove `let {name} =` or the `{ender}` stage"),
            ),
            (Some(name), None) => {
                scope.bind(&mut cx, name, shape.unwrap_or(Shape::Stream));
                if let Some(codec) = windowed_keys {
                    scope.windowed_keys.insert(name.to_string(), codec);
                }
                if let Some(at) = versioned {
                    scope.versioned.insert(name.to_string(), at);
                }
            }
            (None, None) => cx.error(
                last_span,
                "this pipeline has no sink, so its records go nowhere; end it with `|> to(\"topic\")` (or `foreach`), or bind it with `let NAME = ...`",
            ),
            (None, Some(_)) => {}
        }
        facts.push(stage_facts);
    }
    for name in &scope.order {
        let b = &scope.bindings[name];
        if b.uses == 0 {
            cx.error(
                b.span,
                format!("{} `{name}` is never used; add a pipeline such as `{name} |> to(\"topic\");`, or remove it", b.shape.noun()),
            );
        }
    }
    cx.finish()?;
    Ok(resolve(topology, facts, &scope))
}

/// The resolved topology of a topology that passed: each use of a bound name knows whether
/// it takes a clone, each stage its spec and what `check` decided for it.
fn resolve<'a>(topology: &'a Topology, facts: Vec<Vec<Fact<'a>>>, scope: &Scope) -> ir::Resolved<'a> {
    let use_of = |name: &'a Ident| ir::Use {
        name,
        clone: scope.bindings.get(&name.to_string()).is_some_and(|b| b.uses > 1),
    };
    let statements = topology
        .statements
        .iter()
        .zip(facts)
        .map(|(statement, facts)| {
            let pipeline = &statement.pipeline;
            let head = match &pipeline.head {
                Head::Source(source) => ir::Head::Source(source),
                Head::Name(name) => ir::Head::Name(use_of(name)),
            };
            let stages: Vec<ir::Stage<'a>> = pipeline
                .stages
                .iter()
                .zip(facts)
                .map(|(stage, fact)| {
                    let bound = stage
                        .args
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| {
                            fact.join.is_some() && *i == 0
                                || matches!(
                                    fact.spec.args_after(None).get(*i),
                                    Some(ArgKind::Stream | ArgKind::GroupedStream)
                                )
                                || fact.spec.args_for.iter().any(|(_, args)| {
                                    matches!(args.get(*i), Some(ArgKind::Stream | ArgKind::GroupedStream))
                                })
                        })
                        .filter_map(|(i, arg)| match arg {
                            Arg::Expr(syn::Expr::Path(p)) => p.path.get_ident().map(|name| (i, use_of(name))),
                            _ => None,
                        })
                        .collect();
                    let kind = match (fact.join, fact.spec.form) {
                        (Some((method, window)), _) => ir::Kind::Join { method, window },
                        (None, Form::Split) => ir::Kind::Split {
                            branches: split_branches(stage),
                            default: stage
                                .options
                                .iter()
                                .find(|o| o.name == "default")
                                .and_then(default_branch_name),
                        },
                        (None, _) => ir::Kind::Plain,
                    };
                    ir::Stage { ast: stage, spec: fact.spec, bound, kind }
                })
                .collect();
            let binding = statement.binding.as_ref().map(|name| {
                // Only a stream needs `share()` to feed several pipelines; a table is cloned.
                let shared = scope
                    .bindings
                    .get(&name.to_string())
                    .is_some_and(|b| b.uses > 1 && b.shape == Shape::Stream);
                (name, shared && !pipeline.stages.is_empty())
            });
            ir::Statement { head, stages, binding }
        })
        .collect();
    let optimization = topology.attributes.iter().find(|a| a.name == "optimization").map(|a| &a.value);
    ir::Resolved { optimization, statements }
}

fn check_source_options(cx: &mut Ctxt, source: &crate::topology::ast::Source) {
    let allowed = [
        ("name", ArgKind::Topic),
        ("pattern", ArgKind::Topic),
        ("versioned", ArgKind::Duration),
        ("store", ArgKind::Topic),
    ];
    check_options(cx, "source", &allowed, &source.options);
    let option = |n: &str| source.options.iter().find(|o| o.name == n);
    let kind = &source.kind;
    match (option("versioned"), option("store")) {
        (Some(v), _) if kind != "table" => cx.error(
            v.name.span(),
            format!("only a `table` keeps versions: `versioned = ..` goes on `table::<K, V>(..)`, not on a `{kind}`"),
        ),
        (Some(v), None) => cx.error(
            v.name.span(),
            "a versioned table names its store: add `store = \"...\"` (Kafka's \
             `Stores.persistentVersionedKeyValueStore(name, historyRetention)`)",
        ),
        (None, Some(s)) => cx.error(
            s.name.span(),
            "`store = ..` names a versioned table's store; add how much history it keeps, \
             e.g. `versioned = 10m`",
        ),
        _ => {}
    }
}

fn check_options<'a>(
    cx: &mut Ctxt,
    stage: &str,
    allowed: &[(&str, ArgKind)],
    options: impl IntoIterator<Item = &'a NamedArg>,
) {
    let mut seen: Vec<String> = Vec::new();
    for option in options {
        let name = option.name.to_string();
        if seen.contains(&name) {
            cx.error(option.name.span(), format!("option `{name}` is given twice"));
            continue;
        }
        seen.push(name.clone());
        match allowed.iter().find(|(n, _)| *n == name) {
            Some((_, kind)) => check_arg(cx, *kind, &option.value),
            None => {
                let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
                let hint = did_you_mean(&name, names.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_else(|| {
                        format!(
                            "; `{stage}` takes {}",
                            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                        )
                    });
                cx.error(option.name.span(), format!("unknown option `{name}` for `{stage}`{hint}"));
            }
        }
    }
}

fn check_arg(cx: &mut Ctxt, kind: ArgKind, arg: &Arg) {
    use syn::{Expr, ExprLit, Lit};
    match (kind, arg) {
        (ArgKind::Duration, Arg::Duration(_)) => {}
        (ArgKind::Duration, Arg::Expr(Expr::Lit(ExprLit { lit: Lit::Int(i), .. }))) => cx.error(
            i.span(),
            format!(
                "duration without a unit; write `{0}ms` or `{0}s` (expected `ms`, `s`, `m` or `h`)",
                i.base10_digits()
            ),
        ),
        (ArgKind::Duration, Arg::Expr(Expr::Lit(ExprLit { lit, .. }))) => cx.error(lit.span(), duration_literal_hint(lit)),
        // Java's `Duration.ofSeconds(5)`: say what to write here.
        (ArgKind::Duration, Arg::Expr(Expr::MethodCall(call))) if matches!(&*call.receiver, Expr::Path(p) if p.path.is_ident("Duration")) =>
        {
            let unit = match call.method.to_string().as_str() {
                "ofMillis" => Some("ms"),
                "ofSeconds" => Some("s"),
                "ofMinutes" => Some("m"),
                "ofHours" => Some("h"),
                _ => None,
            };
            let amount = match call.args.first() {
                Some(Expr::Lit(ExprLit { lit: Lit::Int(i), .. })) => Some(i.base10_digits().to_string()),
                _ => None,
            };
            let write = match (amount, unit) {
                (Some(n), Some(u)) => format!("write `{n}{u}`"),
                _ => "write a duration such as `5s`, `500ms`, `1m` or `2h`".to_string(),
            };
            cx.error(call.method.span(), format!("`Duration.{}(..)` is Java; {write}", call.method));
        }
        // Java's `suppress(Suppressed.untilTimeLimit(..))`.
        (ArgKind::Duration, Arg::Expr(Expr::MethodCall(call))) if matches!(&*call.receiver, Expr::Path(p) if p.path.is_ident("Suppressed")) =>
        {
            cx.error(
                syn::spanned::Spanned::span(call),
                "`Suppressed.…(..)` is Java; write `suppress(50ms)` for `untilTimeLimit` (with \
                 `max_records = N` for `BufferConfig.maxRecords(N)`), or `suppress_until_close` \
                 after `window(..)` for `untilWindowCloses`",
            );
        }
        (ArgKind::Duration, Arg::Expr(_)) => {} // an expression of type `Duration`
        (ArgKind::Stores, Arg::Expr(Expr::Array(list))) => {
            // Kafka's habit: stores named by their names. The macro adds them, so it needs
            // the builders.
            for element in &list.elems {
                if let Expr::Lit(ExprLit { lit: Lit::Str(name), .. }) = element {
                    cx.error(
                        name.span(),
                        format!(
                            "a store here is its builder, not its name: write `Stores::key_value::<K, V>(\"{}\")` \
                             (the topology adds it)",
                            name.value()
                        ),
                    );
                }
            }
        }
        (ArgKind::Stores, Arg::Expr(e)) => cx.error(
            syn::spanned::Spanned::span(e),
            "expected a list of stores in brackets, such as `stores = [Stores::key_value::<String, i64>(\"seen\")]`",
        ),
        (ArgKind::Count(what), Arg::Expr(Expr::Lit(ExprLit { lit: Lit::Int(i), .. }))) => {
            if !i.suffix().is_empty() {
                cx.error(i.span(), format!("a number of {what} is written without a suffix; write `{}`", i.base10_digits()));
            } else if i.base10_parse::<u32>().is_ok_and(|n| n == 0) {
                cx.error(i.span(), format!("zero {what}: write at least `1`"));
            } else if i.base10_parse::<u32>().is_err() {
                cx.error(i.span(), format!("too many {what}: at most `u32::MAX`"));
            }
        }
        (ArgKind::Count(what), Arg::Expr(Expr::Lit(ExprLit { lit, .. }))) => {
            cx.error(lit.span(), format!("expected a number of {what} such as `3`"));
        }
        (ArgKind::Count(what), Arg::Expr(Expr::Unary(u))) if matches!(u.op, syn::UnOp::Neg(_)) => {
            cx.error(syn::spanned::Spanned::span(u), format!("zero {what}: write at least `1`"));
        }
        (_, Arg::Duration(d)) => cx.error(d.span, format!("expected {}, found a duration", kind.describe())),
        _ => {}
    }
}

/// The names a `split` binds: every option but `name`, and the `default = NAME` branch.
pub(crate) fn split_branches(stage: &Stage) -> Vec<&Ident> {
    stage
        .options
        .iter()
        .filter(|o| o.name != "name")
        .filter_map(|o| if o.name == "default" { default_branch_name(o) } else { Some(&o.name) })
        .collect()
}

/// `default = NAME`: the name of the default branch.
pub(crate) fn default_branch_name(option: &NamedArg) -> Option<&Ident> {
    match &option.value {
        Arg::Expr(syn::Expr::Path(p)) => p.path.get_ident(),
        _ => None,
    }
}

fn check_stage_args(cx: &mut Ctxt, scope: &mut Scope, spec: &StageSpec, stage: &Stage, shape: Option<Shape>) {
    if stage.generics.is_some() && !spec.generics {
        cx.error(stage.name.span(), format!("`{}` takes no `::<...>`", spec.name));
    }
    for generic in stage.generics.iter().flat_map(|g| &g.args) {
        if let syn::GenericArgument::Type(ty) = generic {
            check_codec(cx, ty);
        }
    }
    let args = spec.args_after(shape);
    let given = stage.args.len();
    // A positional argument written as an option (`window(size = 5s)`) is said below, once.
    let named_positional =
        stage.options.iter().filter(|o| spec.arg_names.iter().any(|n| o.name == n)).count();
    let fits =
        given + named_positional <= args.len() && given + named_positional + spec.optional_args >= args.len();
    if spec.form == Form::Split && !stage.args.is_empty() {
        scope.unreadable_split = true;
    }
    if spec.form != Form::Split && !fits {
        let expected = if args.is_empty() {
            "no arguments".to_string()
        } else {
            let list: Vec<String> = args.iter().map(|a| a.describe()).collect();
            let least = args.len() - spec.optional_args.min(args.len());
            let count = match least {
                _ if least == args.len() => {
                    format!("{} argument{}", args.len(), if args.len() == 1 { "" } else { "s" })
                }
                _ if least + 1 == args.len() => format!("{least} or {} arguments", args.len()),
                _ => format!("{least} to {} arguments", args.len()),
            };
            format!("{count} ({})", list.join(", "))
        };
        let on = match shape {
            Some(s @ (Shape::Table | Shape::GroupedTable)) => format!(" on {}", s.describe()),
            _ => String::new(),
        };
        let given_text = match given {
            0 => "none was given".to_string(),
            1 => "1 was given".to_string(),
            n => format!("{n} were given"),
        };
        let fix = match spec.form {
            _ if args.is_empty() => format!("; write `|> {}` alone", spec.name),
            Form::Windows(WindowKind::Sliding) if given > args.len() => {
                "; sliding windows have no advance: they move with each record".to_string()
            }
            _ if spec.name == "cogroup" && shape == Some(Shape::Grouped) && given == 2 => {
                "; the first `cogroup` takes only its adder, and the `cogroup`s after it add the other grouped streams: `|> cogroup(adder) |> cogroup(other, adder)`".to_string()
            }
            Form::Windows(WindowKind::Session) if given > args.len() => {
                "; a session has no advance: it grows while records come within the gap".to_string()
            }
            _ => String::new(),
        };
        cx.error(stage.args_span, format!("`{}`{on} takes {expected}, but {given_text}{fix}", spec.name));
        // A bound name among the arguments was meant to be used here: no second error saying
        // it is never used.
        for arg in &stage.args {
            if let Arg::Expr(syn::Expr::Path(p)) = arg {
                if let Some(b) = p.path.get_ident().and_then(|i| scope.bindings.get_mut(&i.to_string())) {
                    b.uses += 1;
                }
            }
        }
    }
    for (kind, arg) in args.iter().zip(&stage.args) {
        check_arg(cx, *kind, arg);
        let wanted = match kind {
            ArgKind::Stream => Some(Shape::Stream),
            ArgKind::GroupedStream => Some(Shape::Grouped),
            _ => None,
        };
        if let Some(wanted) = wanted {
            match arg {
                Arg::Expr(syn::Expr::Path(p)) if p.path.get_ident().is_some() => {
                    let name = p.path.get_ident().expect("checked");
                    if let Some(shape) = scope.use_name(cx, name) {
                        if shape != wanted {
                            let fix = match (wanted, shape) {
                                (Shape::Grouped, Shape::Stream) => format!(
                                    "; group it where it is bound: `let {name} = ... |> group_by_key;` \
                                     (or `|> group_by(|key, value| ...)`)"
                                ),
                                (Shape::Stream, Shape::Table) => format!(
                                    "; bind its updates as a stream first: `let {name}_updates = {name} |> to_stream;`"
                                ),
                                _ => String::new(),
                            };
                            cx.error(
                                name.span(),
                                format!(
                                    "`{}` takes {}, but `{name}` is {}{fix}",
                                    spec.name,
                                    wanted.describe(),
                                    shape.describe()
                                ),
                            );
                        }
                    }
                }
                other => cx.error(
                    other.span(),
                    format!("`{}` takes the name of {} bound in this topology", spec.name, wanted.describe()),
                ),
            }
        }
    }
    if spec.form == Form::Windows(WindowKind::Time) {
        check_window_sizes(cx, stage);
    }
    if spec.form == Form::Split {
        check_split(cx, stage);
    } else {
        let mut allowed = vec![("name", ArgKind::Topic)];
        allowed.extend_from_slice(spec.options);
        // A positional argument written as an option: say where it goes.
        let (positional, options): (Vec<&NamedArg>, Vec<&NamedArg>) =
            stage.options.iter().partition(|o| spec.arg_names.iter().any(|n| o.name == n));
        for option in positional {
            let at = spec.arg_names.iter().position(|n| option.name == n).unwrap_or(0);
            let mut written: Vec<String> = spec.arg_names.iter().map(|n| n.to_uppercase()).collect();
            written.truncate(at + 1);
            cx.error(
                option.name.span(),
                format!(
                    "`{}` is `{}`'s argument {}, not an option: write `{}({})`",
                    option.name,
                    spec.name,
                    at + 1,
                    spec.name,
                    written.join(", ")
                ),
            );
        }
        check_options(cx, spec.name, &allowed, options);
    }
}

/// `window(size, advance)`: as Kafka's `TimeWindows`, the size is positive and the advance
/// is positive and at most the size (a larger one would leave gaps no window covers).
fn check_window_sizes(cx: &mut Ctxt, stage: &Stage) {
    let size = match stage.args.first() {
        Some(Arg::Duration(d)) => d,
        _ => return,
    };
    if size.millis == 0 {
        cx.error(size.span, "a window's size must be positive");
        return;
    }
    if let Some(Arg::Duration(advance)) = stage.args.get(1) {
        if advance.millis == 0 {
            cx.error(advance.span, "a window's advance must be positive");
        } else if advance.millis > size.millis {
            cx.error(
                advance.span,
                format!(
                    "the advance ({} ms) is larger than the window size ({} ms), so records between \
                     windows would fall in none; make it at most the size (Kafka's `advanceBy` refuses \
                     it too), or swap them: `window(size, advance)`",
                    advance.millis, size.millis
                ),
            );
        }
    }
}

fn check_split(cx: &mut Ctxt, stage: &Stage) {
    let branches: Vec<&NamedArg> =
        stage.options.iter().filter(|o| o.name != "name" && o.name != "default").collect();
    if branches.is_empty() && stage.args.is_empty() {
        cx.error(
            stage.args_span,
            "`split` needs at least one branch: `split(hot = |key, value| ..., default = rest)`",
        );
    }
    for branch in branches {
        check_arg(cx, ArgKind::Fn("a predicate `|key, value| -> bool`"), &branch.value);
    }
    let defaults: Vec<&NamedArg> = stage.options.iter().filter(|o| o.name == "default").collect();
    for (i, d) in defaults.iter().enumerate() {
        if i > 0 {
            cx.error(d.name.span(), "`split` has one default branch; remove this one");
        }
        if default_branch_name(d).is_none() {
            cx.error(d.value.span(), "the default branch is named, not tested: write `default = NAME`");
        }
    }
    if !stage.args.is_empty() {
        cx.error(
            stage.args[0].span(),
            "`split` branches are named: write `split(NAME = |key, value| ..., default = NAME)`",
        );
    }
}

/// A duration as the user would write it: `5s`, `250ms`, `2m`, `1h`.
fn show_millis(ms: u64) -> String {
    match ms {
        0 => "0ms".into(),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms if ms % 1_000 == 0 => format!("{}s", ms / 1_000),
        ms => format!("{ms}ms"),
    }
}

/// `join`, `left_join` and `outer_join`: a stream joins a table (`join(table, joiner)`) or a
/// stream within a window (`join(stream, within(1s, before = .., after = .., grace = ..),
/// joiner)`); a table joins a table. Returns the shape after the join, and the join's
/// builder method and window if it is right.
fn check_join<'a>(
    cx: &mut Ctxt,
    scope: &mut Scope,
    stage: &'a Stage,
    shape: Option<Shape>,
) -> (Option<Shape>, Option<(&'static str, Option<&'a syn::ExprCall>)>) {
    let mut method = None;
    let after = check_join_inner(cx, scope, stage, shape, &mut method);
    let window = match stage.args.get(1) {
        Some(arg @ Arg::Expr(syn::Expr::Call(call))) if is_within(arg) => Some(call),
        _ => None,
    };
    (after, method.map(|m| (m, window)))
}

/// The rules of a join; sets `resolved` to its builder method when they hold.
fn check_join_inner(
    cx: &mut Ctxt,
    scope: &mut Scope,
    stage: &Stage,
    shape: Option<Shape>,
    resolved: &mut Option<&'static str>,
) -> Option<Shape> {
    let name = stage.name.to_string();
    let other = match stage.args.first() {
        Some(Arg::Expr(syn::Expr::Path(p))) if p.path.get_ident().is_some() => {
            let ident = p.path.get_ident().expect("checked");
            scope.use_name(cx, ident).map(|s| (ident, s))
        }
        _ => {
            cx.error(
                stage.args_span,
                format!("`{name}` takes the stream or table to join first: `{name}(other, joiner)`"),
            );
            return Some(Shape::Stream);
        }
    };
    // Java's `join(other, joiner, JoinWindows.of(..))` habit, or a bare duration: the window
    // is written `within(..)` in second place.
    if let Some(Arg::Duration(d)) = stage.args.iter().find(|a| matches!(a, Arg::Duration(_))) {
        let other = other.as_ref().map_or("other".to_string(), |(i, _)| i.to_string());
        cx.error(
            d.span,
            format!(
                "a join window is written `within({})`, second: `{name}({other}, within({}), joiner)`",
                show_millis(d.millis),
                show_millis(d.millis)
            ),
        );
        return Some(Shape::Stream);
    }
    let windowed = stage.args.get(1).is_some_and(is_within);
    check_join_options(cx, &name, windowed, &stage.options);
    let global = matches!(other, Some((_, Shape::GlobalTable)));
    // A table joining a table with three arguments: the middle one extracts the foreign key
    // (Kafka's `join(other, foreignKeyExtractor, joiner)`, KIP-213).
    let foreign_key = !windowed
        && stage.args.len() == 3
        && shape == Some(Shape::Table)
        && matches!(other, Some((_, Shape::Table)));
    let expected = if windowed || global || foreign_key { 3 } else { 2 };
    if stage.args.len() != expected {
        let (what, write) = match (global, &other) {
            (true, Some((table, _))) => (
                "the global table, a key mapper, a joiner".to_string(),
                format!("; write `{name}({table}, |key, value| table_key, |value, table_value| ..)`"),
            ),
            _ => (
                format!("the other side,{} a joiner", if windowed { " a window," } else { "" }),
                String::new(),
            ),
        };
        cx.error(
            stage.args_span,
            format!(
                "`{name}` takes {expected} arguments ({what}), but {} were given{write}",
                stage.args.len()
            ),
        );
    }
    if let Some(Arg::Expr(syn::Expr::Call(call))) = stage.args.get(1).filter(|_| windowed) {
        check_within(cx, call);
    }
    let (other_name, other_shape) = other?;
    let this = shape?;
    if !matches!(other_shape, Shape::Stream | Shape::Table | Shape::GlobalTable) {
        let fix = match other_shape {
            Shape::Grouped | Shape::GroupedTable | Shape::Cogrouped => {
                "; aggregate it into a table first (`|> count`, `|> reduce(..)`, `|> aggregate(..)`), or bind the stream before its grouping"
            }
            _ => "; aggregate the windows first, then join the table (`|> count |> ...`)",
        };
        cx.error(
            other_name.span(),
            format!(
                "`{name}` joins a stream or a table, but `{other_name}` is {}{fix}",
                other_shape.describe()
            ),
        );
        return Some(this);
    }
    let method: &'static str = match (this, other_shape, windowed, name.as_str()) {
        (Shape::Stream, Shape::GlobalTable, false, "join") => "join_global",
        (Shape::Stream, Shape::GlobalTable, false, "left_join") => "left_join_global",
        (_, Shape::GlobalTable, _, _) => {
            cx.error(
                stage.name.span(),
                format!("a global table is joined from a stream: `stream |> {name}({other_name}, |key, value| table_key, joiner)`"),
            );
            return Some(this);
        }
        (Shape::Stream, Shape::Table, false, "join") => "join",
        (Shape::Stream, Shape::Table, false, "left_join") => "left_join",
        (Shape::Stream, Shape::Stream, true, "join") => "join_windowed",
        (Shape::Stream, Shape::Stream, true, "left_join") => "left_join_windowed",
        (Shape::Stream, Shape::Stream, true, "outer_join") => "outer_join_windowed",
        (Shape::Table, Shape::Table, false, "join") if foreign_key => "foreign_key_join",
        (Shape::Table, Shape::Table, false, "left_join") if foreign_key => "foreign_key_left_join",
        (Shape::Table, Shape::Table, false, "outer_join") if foreign_key => {
            cx.error(
                stage.name.span(),
                format!("a foreign-key join is `join` or `left_join` (Kafka has no outer one): `join({other_name}, |value| foreign_key, joiner)`"),
            );
            return Some(Shape::Table);
        }
        (Shape::Table, Shape::Table, false, "join") => "join",
        (Shape::Table, Shape::Table, false, "left_join") => "left_join",
        (Shape::Table, Shape::Table, false, "outer_join") => "outer_join",
        (Shape::Stream, Shape::Stream, false, _) => {
            cx.error(
                other_name.span(),
                format!(
                    "joining two streams needs a join window: `{name}({other_name}, within(1s), joiner)`"
                ),
            );
            return Some(Shape::Stream);
        }
        (Shape::Stream, Shape::Table, false, "outer_join") => {
            cx.error(
                stage.name.span(),
                "a stream and a table have no outer join; use `left_join` (Kafka has none either)",
            );
            return Some(Shape::Stream);
        }
        (Shape::Stream | Shape::Table, Shape::Table, true, _) => {
            cx.error(
                stage.args[1].span(),
                "a join with a table takes no window: the table is looked up as of each record",
            );
            return Some(this);
        }
        (Shape::Table, Shape::Stream, _, _) => {
            cx.error(
                stage.name.span(),
                format!("a table cannot join a stream; turn it around: `{other_name} |> {name}(this_table, joiner)`"),
            );
            return Some(Shape::Table);
        }
        (other, _, _, _) => {
            cx.error(
                stage.name.span(),
                format!("`{name}` takes a stream or a table, but here it gets {}", other.describe()),
            );
            return Some(Shape::Stream);
        }
    };
    let method = match stage.options.iter().find(|o| o.name == "grace").filter(|_| !windowed) {
        None => method,
        Some(grace) => {
            match (method, scope.versioned.contains_key(&other_name.to_string())) {
                ("join" | "left_join", true) if this == Shape::Stream => {
                    check_arg(cx, ArgKind::Duration, &grace.value);
                    if method == "join" {
                        "join_with_grace"
                    } else {
                        "left_join_with_grace"
                    }
                }
                ("join" | "left_join", false) if this == Shape::Stream => {
                    cx.error(
                        grace.name.span(),
                        format!(
                        "a grace period needs a versioned table (Kafka: \"KTable must be versioned to use a \
                         grace period in a stream table join\"); read `{other_name}` with \
                         `table::<K, V>(\"topic\", versioned = 10m, store = \"name\")`"
                    ),
                    );
                    method
                }
                _ => {
                    cx.error(
                    grace.name.span(),
                    format!("`grace` is for a stream joining a versioned table; `{name}` here takes only `name`"),
                );
                    method
                }
            }
        }
    };
    *resolved = Some(method);
    if let Some(extractor) = stage.args.get(1).filter(|_| foreign_key) {
        check_arg(cx, ArgKind::Fn("a foreign-key extractor `|value| foreign_key`"), extractor);
    }
    if let Some(joiner) = stage.args.last() {
        check_arg(cx, ArgKind::Fn("a joiner"), joiner);
    }
    Some(this)
}

/// A join takes the option `name` (Kafka's `Joined.as` / `StreamJoined.withName`), and a
/// stream joining a versioned table `grace` (checked with the join's sides); a window's
/// `before`, `after` and `grace` belong in its `within(..)`, and a join with a table has no
/// window at all.
fn check_join_options(cx: &mut Ctxt, name: &str, windowed: bool, options: &[NamedArg]) {
    let (window_options, rest): (Vec<&NamedArg>, Vec<&NamedArg>) = options
        .iter()
        .filter(|o| windowed || o.name != "grace")
        .partition(|o| ["before", "after", "grace"].iter().any(|w| o.name == w));
    for option in window_options {
        let what = &option.name;
        let fix = if windowed {
            format!("put it in the join window: `within(1s, {what} = ..)`")
        } else {
            "a join with a table takes no window: the table is looked up as of each record".to_string()
        };
        cx.error(option.name.span(), format!("`{name}` takes no option `{what}`; {fix}"));
    }
    check_options(cx, name, &[("name", ArgKind::Topic)], rest);
}

/// The table stages whose result is versioned when their input is (Kafka's
/// `InternalStreamsBuilder.isVersionedUpstream`: nodes that do not materialize).
const VERSIONED_THROUGH: &[&str] = &["filter", "filter_not", "map_values", "transform_values"];

/// Stages that keep their input's keys (so windowed keys stay windowed).
const KEEP_KEYS: &[&str] = &[
    "filter",
    "filter_not",
    "map_values",
    "flat_map_values",
    "peek",
    "to_stream",
    "suppress",
    "suppress_until_close",
    "emit_on_close",
    "split",
    "to_table",
    "merge",
    "process_values",
];

/// A sink or repartition that names a plain key codec for windowed keys.
fn check_windowed_key_codec(cx: &mut Ctxt, stage: &Stage, codec: &str) {
    let Some(syn::GenericArgument::Type(key)) = stage.generics.as_ref().and_then(|g| g.args.first()) else {
        return;
    };
    let syn::Type::Path(path) = key else { return };
    let Some(last) = path.path.segments.last() else { return };
    if ["TimeWindowed", "TimeWindowedOf", "SessionWindowed", "Windowed"].iter().any(|w| last.ident == w) {
        return;
    }
    let key = quote::quote!(#key).to_string().replace(' ', "");
    cx.error(
        syn::spanned::Spanned::span(path),
        format!(
            "this stream's keys are windowed (`Windowed<..>`, from the windowed aggregation before it), so `{key}` cannot write them; write the key codec as `{codec}<{key}>`"
        ),
    );
}

/// A codec named where a type closures see was meant: `Windowed<K>` is the key of windowed
/// output, written and read by `TimeWindowed<KC>` or `SessionWindowed<KC>`.
fn check_codec(cx: &mut Ctxt, ty: &syn::Type) {
    let syn::Type::Path(path) = ty else { return };
    let Some(last) = path.path.segments.last() else { return };
    if last.ident != "Windowed" {
        return;
    }
    let inner = match &last.arguments {
        syn::PathArguments::AngleBracketed(a) => match a.args.first() {
            Some(syn::GenericArgument::Type(t)) => quote::quote!(#t).to_string().replace(' ', ""),
            _ => "K".to_string(),
        },
        _ => "K".to_string(),
    };
    cx.error(
        last.ident.span(),
        format!(
            "`Windowed<{inner}>` is the key closures see, not a codec; a windowed key is written and read with `TimeWindowed<{inner}>` (time and sliding windows) or `SessionWindowed<{inner}>` (sessions)"
        ),
    );
}

/// What to write for a literal that is not a duration: `"5s"` loses its quotes.
fn duration_literal_hint(lit: &syn::Lit) -> String {
    match lit {
        syn::Lit::Str(s) if super::duration::parse_str(&s.value()).is_some() => {
            format!("a duration is written without quotes: `{}`", s.value().trim())
        }
        _ => "expected a duration such as `1s` or `250ms`".to_string(),
    }
}

/// `within(DURATION, before = .., after = .., grace = ..)`.
fn check_within(cx: &mut Ctxt, call: &syn::ExprCall) {
    use syn::{Expr, ExprLit, Lit};
    let duration_ok = |cx: &mut Ctxt, e: &Expr| match e {
        Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => {
            if let Err(err) = super::duration::from_int(i) {
                cx.push(err);
            }
        }
        Expr::Lit(ExprLit { lit, .. }) => cx.error(lit.span(), duration_literal_hint(lit)),
        _ => {}
    };
    let mut positional = 0;
    for arg in &call.args {
        match arg {
            Expr::Assign(assign) => {
                let option = match &*assign.left {
                    Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
                    _ => None,
                };
                match option.as_deref() {
                    Some("before" | "after" | "grace") => duration_ok(cx, &assign.right),
                    _ => cx.error(
                        syn::spanned::Spanned::span(&assign.left),
                        "`within` takes the options `before`, `after` and `grace`",
                    ),
                }
            }
            other => {
                positional += 1;
                duration_ok(cx, other);
            }
        }
    }
    if positional != 1 {
        cx.error(
            syn::spanned::Spanned::span(call),
            "`within` takes one duration: `within(1s)` (then `before = `, `after = `, `grace = `)",
        );
    }
}
