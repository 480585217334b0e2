//! `topology!`: parse (syntax only) -> check (whole-topology rules, every error at once) ->
//! expand (cannot fail). Only `syn`, `quote` and `proc-macro2` are used here, so the phases
//! also run outside the compiler (the benchmark does).

pub(crate) mod ast;
pub(crate) mod check;
pub(crate) mod ctxt;
pub(crate) mod duration;
pub(crate) mod expand;
pub(crate) mod ir;
pub(crate) mod parse;
pub(crate) mod stages;

use proc_macro2::TokenStream;

/// Runs the three phases on the macro's input.
pub(crate) fn topology(input: TokenStream) -> TokenStream {
    let ast = match parse::parse_topology(input) {
        Ok(ast) => ast,
        Err(err) => return expand::with_errors(err.to_compile_error()),
    };
    match check::check(&ast) {
        Ok(resolved) => expand::expand(&resolved),
        Err(err) => expand::with_errors(err.to_compile_error()),
    }
}
