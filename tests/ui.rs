//! The diagnostics catalogue: every mistake in `ui/<kind>/` must fail to compile with the
//! checked-in `.stderr`; every file in `ui/pass/` must compile. Regenerate the snapshots with
//! `TRYBUILD=overwrite cargo test -p streams-tests --test ui` (and read them).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/syntax/*.rs");
    t.compile_fail("ui/structure/*.rs");
    t.compile_fail("ui/types/*.rs");
    t.pass("ui/pass/*.rs");
}
