//! Behaviour tests of streams-runtime; see the `[[test]]` targets. This library holds what
//! they share.

/// A file of `tests/fixtures/kafka/`: outputs of Apache Kafka itself, written by
/// `tools/kafka-reference`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/fixtures/kafka/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
