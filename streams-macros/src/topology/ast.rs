//! The syntax tree of a topology. Every node keeps the user's tokens (and so their spans).

use proc_macro2::Span;
use syn::{Expr, Ident, Type};

/// The whole macro input.
pub(crate) struct Topology {
    /// Inner attributes before the first statement: `#![optimization = "all"]`.
    pub(crate) attributes: Vec<Attribute>,
    pub(crate) statements: Vec<Statement>,
}

/// `#![NAME = "VALUE"]` at the top of the topology.
pub(crate) struct Attribute {
    pub(crate) name: Ident,
    pub(crate) value: syn::LitStr,
}

/// `let NAME = PIPELINE;` or `PIPELINE;`.
pub(crate) struct Statement {
    pub(crate) binding: Option<Ident>,
    pub(crate) pipeline: Pipeline,
}

/// A head followed by zero or more `|> stage`s.
pub(crate) struct Pipeline {
    pub(crate) head: Head,
    pub(crate) stages: Vec<Stage>,
}

/// Where a pipeline starts.
pub(crate) enum Head {
    /// `stream::<K, V>("topic")`, `table::<K, V>("topic")`, ...
    Source(Source),
    /// A name bound earlier.
    Name(Ident),
}

/// A source: its kind, codecs and topic arguments.
pub(crate) struct Source {
    pub(crate) kind: Ident,
    pub(crate) key: Type,
    pub(crate) value: Type,
    pub(crate) topics: Vec<Expr>,
    pub(crate) options: Vec<NamedArg>,
}

/// `name`, `name(args)` or `name::<T, U>(args)`.
pub(crate) struct Stage {
    pub(crate) name: Ident,
    pub(crate) generics: Option<syn::AngleBracketedGenericArguments>,
    /// Span of the parentheses, or of the name when there are none.
    pub(crate) args_span: Span,
    pub(crate) args: Vec<Arg>,
    pub(crate) options: Vec<NamedArg>,
}

/// A positional argument.
pub(crate) enum Arg {
    Expr(Expr),
    Duration(Duration),
}

impl Arg {
    pub(crate) fn span(&self) -> Span {
        match self {
            Arg::Expr(e) => syn::spanned::Spanned::span(e),
            Arg::Duration(d) => d.span,
        }
    }
}

/// `name = value`.
pub(crate) struct NamedArg {
    pub(crate) name: Ident,
    pub(crate) value: Arg,
}

/// A duration literal such as `250ms`, already in milliseconds.
#[derive(Clone, Copy)]
pub(crate) struct Duration {
    pub(crate) millis: u64,
    pub(crate) span: Span,
}
