//! The checked topology: what `check` resolved about each statement and stage, which is all
//! `expand` reads (as serde_derive's `internals::ast` is what its code generation reads).
//! Every node still points at the user's tokens, for spans.

use syn::{ExprCall, Ident, LitStr};

use super::ast;
use super::stages::StageSpec;

/// A topology that passed every check.
pub(crate) struct Resolved<'a> {
    /// `#![optimization = "..."]`, its value valid.
    pub(crate) optimization: Option<&'a LitStr>,
    pub(crate) statements: Vec<Statement<'a>>,
}

pub(crate) struct Statement<'a> {
    pub(crate) head: Head<'a>,
    pub(crate) stages: Vec<Stage<'a>>,
    /// `let NAME = ...`: the name, and whether the stream is shared (used more than once).
    pub(crate) binding: Option<(&'a Ident, bool)>,
}

pub(crate) enum Head<'a> {
    Source(&'a ast::Source),
    Name(Use<'a>),
}

/// A bound name used at one place.
#[derive(Clone, Copy)]
pub(crate) struct Use<'a> {
    pub(crate) name: &'a Ident,
    /// Used elsewhere too: this use takes a clone (fan-out).
    pub(crate) clone: bool,
}

pub(crate) struct Stage<'a> {
    pub(crate) ast: &'a ast::Stage,
    pub(crate) spec: &'static StageSpec,
    /// The bound names among its positional arguments, by position (`merge(other)`,
    /// `cogroup(clicks, ..)`, a join's other side).
    pub(crate) bound: Vec<(usize, Use<'a>)>,
    pub(crate) kind: Kind<'a>,
}

pub(crate) enum Kind<'a> {
    /// As its spec's form says.
    Plain,
    /// A join: the builder method for what is joined, and a stream-stream join's window.
    Join { method: &'static str, window: Option<&'a ExprCall> },
    /// A split: the branches it binds, the default one among them.
    Split { branches: Vec<&'a Ident>, default: Option<&'a Ident> },
}

impl Stage<'_> {
    /// The use of the bound name at argument `index`, if it is one.
    pub(crate) fn bound_at(&self, index: usize) -> Option<Use<'_>> {
        self.bound.iter().find(|(i, _)| *i == index).map(|(_, u)| *u)
    }
}
