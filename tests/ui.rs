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

/// Internal names a user should never have to read: they leak how the builder composes
/// stages, not what the user wrote.
const INTERNAL_NAMES: &[&str] = &["Then<", "Nop<", "StageOf", "{closure@", "MayDelete", "NeverDeletes"];

/// Catalogue cases whose rustc errors still show an internal name (type errors rustc reports
/// on the builder's own types). Shrinks only: a case that is clean now must leave the list.
const STILL_SHOWING_INTERNAL_NAMES: &[&str] = &[
    "types/aggregate_type_without_codec.stderr",
    "types/closure_wrong_arg_type.stderr",
    "types/join_with_different_key_types.stderr",
    "types/merge_different_value_types.stderr",
];

#[test]
fn no_error_in_the_catalogue_shows_an_internal_type_name() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let mut showing = Vec::new();
    for kind in ["syntax", "structure", "types"] {
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
