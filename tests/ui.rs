//! The diagnostics catalogue: every mistake in `ui/<kind>/` must fail to compile with the
//! checked-in `.stderr`; every file in `ui/pass/` must compile. Regenerate the snapshots with
//! `TRYBUILD=overwrite cargo test -p streams-tests --test ui` (and read them).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/syntax/*.rs");
    t.compile_fail("ui/structure/*.rs");
    t.compile_fail("ui/types/*.rs");
    t.compile_fail("ui/builder/*.rs");
    t.pass("ui/pass/*.rs");
}

/// Internal names a user should never have to read: they leak how the builder composes
/// stages, not what the user wrote.
const INTERNAL_NAMES: &[&str] = &["Then<", "Nop<", "StageOf", "{closure@", "MayDelete", "NeverDeletes"];

/// Catalogue cases whose rustc errors still show an internal name (type errors rustc reports
/// on the builder's own types). Shrinks only: a case that is clean now must leave the list.
///
/// What is left, and why: a closure of the wrong signature makes the next stage's method
/// unmet too (`closure_wrong_arg_type`, `peek_with_owned_arguments`: rustc's second error names
/// the fused stages' type); the rest show a builder signature in a note under a first error
/// that already says what to write (`MayDelete`/`NeverDeletes` in a table's type, `StageOf` in
/// the impl rustc quotes for `merge`).
const STILL_SHOWING_INTERNAL_NAMES: &[&str] = &[
    "builder/merge_streams_of_other_types.stderr",
    "types/aggregate_type_without_codec.stderr",
    "types/borrowed_str_as_a_grouping_key.stderr",
    "types/closure_wrong_arg_type.stderr",
    "types/join_with_different_key_types.stderr",
    "types/merge_different_value_types.stderr",
    "types/peek_with_owned_arguments.stderr",
    "types/stream_join_with_different_key_types.stderr",
];

#[test]
fn no_error_in_the_catalogue_shows_an_internal_type_name() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let mut showing = Vec::new();
    for kind in ["syntax", "structure", "types", "builder"] {
        for entry in std::fs::read_dir(root.join(kind)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "stderr") {
                let text = std::fs::read_to_string(&path).unwrap();
                if INTERNAL_NAMES.iter().any(|n| text.contains(n)) {
                    showing.push(format!("{kind}/{}", path.file_name().unwrap().to_string_lossy()));
                }
            }
        }
    }
    showing.sort();
    let mut known: Vec<String> = STILL_SHOWING_INTERNAL_NAMES.iter().map(|s| s.to_string()).collect();
    known.sort();
    assert_eq!(
        showing, known,
        "cases showing one of {INTERNAL_NAMES:?} (fix a new one; drop a fixed one from the list)"
    );
}
