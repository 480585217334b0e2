//! Syntax only: statements, pipelines, stages, arguments. Each statement is parsed on its
//! own so that one statement's syntax error does not hide another's.

use proc_macro2::{TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Expr, Ident, Lit, Token};

use super::ast::{Arg, Attribute, Head, NamedArg, Pipeline, Source, Stage, Statement, Topology};
use super::ctxt::Ctxt;
use super::duration;

syn::custom_punctuation!(PipeGt, |>);

/// Source kinds `NAME::<K, V>(topic)` a pipeline can start with.
pub(crate) const SOURCE_KINDS: &[&str] = &["stream", "table", "global_table"];

/// Parses the whole macro input, reporting every statement's syntax error.
pub(crate) fn parse_topology(input: TokenStream) -> syn::Result<Topology> {
    check_depth(&input)?;
    let mut cx = Ctxt::default();
    let (attributes, input) = inner_attributes(&mut cx, input);
    let mut statements = Vec::new();
    for chunk in split_statements(input) {
        match Parser::parse2(Statement::parse, chunk) {
            Ok(s) => statements.push(s),
            Err(e) => cx.push(e),
        }
    }
    cx.finish()?;
    Ok(Topology { attributes, statements })
}

/// The leading `#![NAME = "VALUE"]` attributes, and the rest of the input.
fn inner_attributes(cx: &mut Ctxt, input: TokenStream) -> (Vec<Attribute>, TokenStream) {
    let mut tokens: Vec<TokenTree> = input.into_iter().collect();
    let mut attributes = Vec::new();
    while let [TokenTree::Punct(hash), TokenTree::Punct(bang), TokenTree::Group(group), ..] =
        tokens.as_slice()
    {
        if hash.as_char() != '#'
            || bang.as_char() != '!'
            || group.delimiter() != proc_macro2::Delimiter::Bracket
        {
            break;
        }
        let parsed = Parser::parse2(
            |input: ParseStream| {
                let name: Ident = input.parse()?;
                input.parse::<Token![=]>()?;
                let value: syn::LitStr = input.parse()?;
                Ok(Attribute { name, value })
            },
            group.stream(),
        );
        match parsed {
            Ok(attribute) => attributes.push(attribute),
            Err(e) => cx.push(syn::Error::new(
                e.span(),
                "a topology attribute reads `#![NAME = \"VALUE\"]`, such as `#![optimization = \"all\"]`",
            )),
        }
        tokens.drain(..3);
    }
    (attributes, tokens.into_iter().collect())
}

/// How deep brackets and generic arguments may nest in the macro's input. `syn` parses
/// them by recursion, so deeper input would overflow the compiler's stack before any limit of
/// rustc's own is reached.
const MAX_DEPTH: usize = 128;

/// Refuses input nested deeper than [`MAX_DEPTH`], walking it without recursion.
fn check_depth(input: &TokenStream) -> syn::Result<()> {
    let mut pending: Vec<(TokenStream, usize)> = vec![(input.clone(), 0)];
    while let Some((stream, depth)) = pending.pop() {
        // `<` and `>` count as levels too (generic arguments); a comparison only ever makes
        // the count err on the side of depth.
        let mut angles = 0usize;
        for tt in stream {
            let level = depth + angles;
            match &tt {
                TokenTree::Group(g) => pending.push((g.stream(), level + 1)),
                TokenTree::Punct(p) if p.as_char() == '<' => angles += 1,
                TokenTree::Punct(p) if p.as_char() == '>' => angles = angles.saturating_sub(1),
                _ => {}
            }
            if level + 1 > MAX_DEPTH {
                return Err(syn::Error::new(
                    tt.span(),
                    format!(
                        "nested more than {MAX_DEPTH} levels deep; move the expression into a function \
                         (or the type into a type alias) outside `topology!` and use it here"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Splits at top-level `;` (inside parentheses or braces a `;` belongs to the argument).
fn split_statements(input: TokenStream) -> Vec<TokenStream> {
    let mut chunks = Vec::new();
    let mut current = Vec::new();
    for tt in input {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ';' => {
                chunks.push(current.drain(..).collect());
            }
            _ => current.push(tt),
        }
    }
    if !current.is_empty() {
        chunks.push(current.into_iter().collect());
    }
    chunks
}

impl Parse for Statement {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let binding = if input.peek(Token![let]) {
            let let_token = input.parse::<Token![let]>()?;
            let name: Ident = input.parse().map_err(|e| {
                syn::Error::new(
                    if input.is_empty() { let_token.span } else { e.span() },
                    "a `let` names what it binds: `let NAME = stream::<K, V>(\"topic\");`",
                )
            })?;
            input.parse::<Token![=]>().map_err(|e| {
                syn::Error::new(e.span(), format!("expected `=` after `let {name}`: `let {name} = ...;`"))
            })?;
            Some(name)
        } else {
            None
        };
        let pipeline = input.parse()?;
        Ok(Statement { binding, pipeline })
    }
}

impl Parse for Pipeline {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let head = input.parse()?;
        let mut stages = Vec::new();
        while !input.is_empty() {
            if !input.peek(PipeGt) {
                return Err(missing_pipe(input, stages.last()));
            }
            let pipe = input.parse::<PipeGt>()?;
            if input.is_empty() {
                return Err(syn::Error::new(
                    pipe.spans[0],
                    "`|>` ends this pipeline with no stage after it; add one (such as `to(\"topic\")`) or remove the `|>`",
                ));
            }
            stages.push(input.parse()?);
        }
        Ok(Pipeline { head, stages })
    }
}

/// What to write where a stage should be followed by `|>` and is not.
fn missing_pipe(input: ParseStream<'_>, last: Option<&Stage>) -> syn::Error {
    let next = input.fork().parse::<TokenTree>().ok();
    let starts_pipeline = matches!(&next, Some(TokenTree::Ident(i))
        if *i == "let" || SOURCE_KINDS.contains(&i.to_string().as_str()));
    match (&next, last) {
        // Two statements without the `;` between them.
        (Some(t), _) if starts_pipeline => syn::Error::new(
            t.span(),
            format!("a new pipeline starts at `{t}`: end the one before it with `;`"),
        ),
        // `to "out"`: the argument without its parentheses.
        (Some(TokenTree::Literal(lit)), Some(stage)) if stage.args.is_empty() => {
            syn::Error::new(lit.span(), format!("arguments go in parentheses: write `{}({lit})`", stage.name))
        }
        // `.filter(..)`: a method chain, as the builder API (or Java) writes it.
        (Some(TokenTree::Punct(p)), _) if p.as_char() == '.' => syn::Error::new(
            p.span(),
            "stages are joined with `|>`, not called as methods: write `|> stage(..)` (the builder API, `StreamsBuilder`, takes method calls)",
        ),
        // `=>`, `->`, `|`, `>>`: another language's pipe.
        (Some(TokenTree::Punct(p)), _) if matches!(p.as_char(), '=' | '-' | '|' | '>') => {
            let fork = input.fork();
            let written: String = std::iter::from_fn(|| match fork.parse::<TokenTree>() {
                Ok(TokenTree::Punct(p)) => Some(p.as_char()),
                _ => None,
            })
            .take(2)
            .collect();
            syn::Error::new(p.span(), format!("`{written}` does not join stages here; write `|>`"))
        }
        (Some(t), _) => input.error(format!("expected `|>` before `{t}`; stages are joined with `|>`")),
        (None, _) => input.error("expected `|>`; stages are joined with `|>`"),
    }
}

impl Parse for Head {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name: Ident = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a source such as `stream::<KeyCodec, ValueCodec>(\"topic\")` or a stream's name",
            )
        })?;
        let is_source = SOURCE_KINDS.contains(&name.to_string().as_str());
        if input.peek(Token![::]) || input.peek(syn::token::Paren) {
            if !is_source {
                return Err(syn::Error::new(
                    name.span(),
                    format!(
                        "unknown source `{name}`; expected `stream::<K, V>(topic)` or `table::<K, V>(topic)`"
                    ),
                ));
            }
            if !input.peek(Token![::]) {
                return Err(syn::Error::new(
                    name.span(),
                    format!("`{name}` needs its codecs: write `{name}::<KeyCodec, ValueCodec>(\"topic\")`, e.g. `{name}::<String, Json<Trade>>(\"trades\")`"),
                ));
            }
            input.parse::<Token![::]>()?;
            input.parse::<Token![<]>()?;
            let key = input.parse()?;
            input.parse::<Token![,]>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    format!("`{name}` takes two codecs: `{name}::<KeyCodec, ValueCodec>`"),
                )
            })?;
            let value = input.parse()?;
            input.parse::<Token![>]>()?;
            let content;
            syn::parenthesized!(content in input);
            let (args, options) = parse_args(&content)?;
            let mut topics = Vec::new();
            for arg in args {
                match arg {
                    Arg::Expr(e) => topics.push(e),
                    Arg::Duration(d) => {
                        return Err(syn::Error::new(d.span, "expected a topic name, not a duration"))
                    }
                }
            }
            return Ok(Head::Source(Source { kind: name, key, value, topics, options }));
        }
        Ok(Head::Name(name))
    }
}

impl Parse for Stage {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name: Ident = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "expected a stage after `|>`, such as `map_values(...)`")
        })?;
        let generics = if input.peek(Token![::]) {
            Some(syn::AngleBracketedGenericArguments::parse_turbofish(input)?)
        } else {
            None
        };
        if input.peek(syn::token::Paren) {
            let content;
            let paren = syn::parenthesized!(content in input);
            let (args, options) = parse_args(&content)?;
            Ok(Stage { name, generics, args_span: paren.span.join(), args, options })
        } else {
            Ok(Stage { args_span: name.span(), name, generics, args: Vec::new(), options: Vec::new() })
        }
    }
}

/// Positional arguments, then or among them `name = value` options.
fn parse_args(input: ParseStream<'_>) -> syn::Result<(Vec<Arg>, Vec<NamedArg>)> {
    let mut args = Vec::new();
    let mut options = Vec::new();
    while !input.is_empty() {
        // `grace: 1s` (Kotlin's or a struct's way): options take `=` here.
        if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
            let name: Ident = input.fork().parse()?;
            return Err(syn::Error::new(
                name.span(),
                format!("options are written `{name} = ...` here; write `=` instead of `:`"),
            ));
        }
        if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) && !input.peek2(Token![=>])
        {
            let name: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            if input.is_empty() || input.peek(Token![,]) {
                return Err(syn::Error::new(
                    name.span(),
                    format!("option `{name}` has no value; write `{name} = VALUE` or remove it"),
                ));
            }
            options.push(NamedArg { name, value: parse_arg(input)? });
        } else {
            args.push(parse_arg(input)?);
        }
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok((args, options))
}

/// One argument: a duration literal, or any Rust expression.
fn parse_arg(input: ParseStream<'_>) -> syn::Result<Arg> {
    // Java's lambda `v -> v` (or `(k, v) -> ..`): Rust writes closures `|v| v`.
    let java_lambda = {
        let fork = input.fork();
        (fork.parse::<Ident>().is_ok() || fork.parse::<TokenTree>().is_ok()) && fork.peek(Token![->])
    };
    if java_lambda {
        let arrow = {
            let fork = input.fork();
            let _ = fork.parse::<TokenTree>();
            fork.parse::<Token![->]>()?
        };
        return Err(syn::Error::new(
            arrow.spans[0],
            "`->` is Java's lambda arrow; a Rust closure is written `|value| ...` (`|key, value| ...`)",
        ));
    }
    // `-1s`: a negative duration.
    if input.peek(Token![-]) && input.peek2(Lit) {
        let fork = input.fork();
        let minus = fork.parse::<Token![-]>()?;
        if let Ok(lit) = fork.parse::<Lit>() {
            if duration::is_duration_like(&lit) && (fork.is_empty() || fork.peek(Token![,])) {
                return Err(syn::Error::new(
                    minus.span,
                    "a duration cannot be negative; write `0s` for none (a grace of `0s` closes windows at their end)",
                ));
            }
        }
    }
    if input.peek(Lit) {
        let fork = input.fork();
        let lit: Lit = fork.parse()?;
        // `5 s`: a number and a unit apart.
        if let (Lit::Int(i), true) = (&lit, fork.peek(Ident)) {
            let unit = fork.fork().parse::<Ident>()?;
            if ["ms", "s", "m", "h"].contains(&unit.to_string().as_str()) && i.suffix().is_empty() {
                return Err(syn::Error::new(
                    unit.span(),
                    format!("a duration is written without a space: `{}{unit}`", i.base10_digits()),
                ));
            }
        }
        let ends_here = fork.is_empty() || fork.peek(Token![,]);
        if ends_here && duration::is_duration_like(&lit) {
            input.parse::<Lit>()?;
            return match &lit {
                Lit::Int(i) => Ok(Arg::Duration(duration::from_int(i)?)),
                Lit::Float(f) => Err(duration::refuse_float(f)),
                _ => unreachable!("is_duration_like accepts numbers only"),
            };
        }
    }
    Ok(Arg::Expr(input.parse::<Expr>()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From source text, as rustc hands tokens over (`|>` joint).
    fn parse(src: &str) -> syn::Result<Topology> {
        parse_topology(src.parse().expect("tokens"))
    }

    #[test]
    fn statements_pipelines_and_stages() {
        let t = parse(
            r#"
            let views = stream::<i32, Json<PageView>>("clicks");
            views |> filter(|_, v| v.page != "") |> map_values(f) |> to("out");
        "#,
        )
        .unwrap();
        assert_eq!(t.statements.len(), 2);
        assert_eq!(t.statements[0].binding.as_ref().unwrap(), "views");
        let Head::Source(s) = &t.statements[0].pipeline.head else { panic!("a source") };
        assert_eq!(s.kind, "stream");
        assert_eq!(s.topics.len(), 1);
        let stages: Vec<String> =
            t.statements[1].pipeline.stages.iter().map(|s| s.name.to_string()).collect();
        assert_eq!(stages, ["filter", "map_values", "to"]);
    }

    #[test]
    fn durations_and_options() {
        let t = parse(r#" s |> window(5s, 1s, grace = 250ms, name = "w") |> count; "#).unwrap();
        let w = &t.statements[0].pipeline.stages[0];
        let millis: Vec<u64> = w
            .args
            .iter()
            .map(|a| match a {
                Arg::Duration(d) => d.millis,
                Arg::Expr(_) => panic!("durations"),
            })
            .collect();
        assert_eq!(millis, [5_000, 1_000]);
        assert_eq!(w.options.len(), 2);
        assert!(matches!(w.options[0].value, Arg::Duration(d) if d.millis == 250));
        assert!(t.statements[0].pipeline.stages[1].args.is_empty());
    }

    #[test]
    fn turbofish_on_a_stage() {
        let t = parse(r#" s |> to::<String, Json<Stats>>("out"); "#).unwrap();
        assert!(t.statements[0].pipeline.stages[0].generics.is_some());
    }

    #[test]
    fn integer_suffixes_stay_integers() {
        let t = parse(r#" s |> map_values(|v| v + 5u32) |> take(5i64); "#).unwrap();
        assert!(matches!(t.statements[0].pipeline.stages[1].args[0], Arg::Expr(_)));
    }

    #[test]
    fn every_statement_reports_its_error() {
        let err = parse(
            r#"
            s map_values(f);
            t |> window(5sec);
        "#,
        )
        .err()
        .unwrap();
        let messages: Vec<String> = err.into_iter().map(|e| e.to_string()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].starts_with("expected `|>` before `map_values`"));
        assert!(messages[1].contains("unknown duration unit `sec`"));
    }

    #[test]
    fn sources_need_codecs() {
        let err = parse(r#" stream("x") |> to("y"); "#).err().unwrap();
        assert!(err.to_string().contains("`stream` needs its codecs"));
    }
}
