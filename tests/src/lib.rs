//! Behaviour tests of streams-runtime; see the `[[test]]` targets. This library holds what
//! they share.

pub mod instance;
pub mod kafka;

/// A file of `tests/fixtures/kafka/`: outputs of Apache Kafka itself, written by
/// `tools/kafka-reference`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/fixtures/kafka/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Kafka's split/merge topology of `fixtures/kafka/describe_split_merge.txt`, built by hand.
pub fn split_merge_by_hand() -> streams_runtime::Topology {
    let b = streams_runtime::StreamsBuilder::new();
    let mut branches = b
        .stream::<String, i64>("input")
        .filter(|_, v| *v != 0)
        .split()
        .branch("negative", |_, v| *v < 0)
        .default_branch("positive");
    let negative = branches.take("negative").map_values(|v| -v);
    let positive = branches.take("positive");
    positive.clone().to("positives");
    negative.merge(positive).to("absolute");
    b.build()
}

/// The count of every word in `lines`, computed directly.
pub fn golden_counts<S: AsRef<str>>(lines: &[S]) -> std::collections::BTreeMap<String, i64> {
    let mut counts = std::collections::BTreeMap::new();
    for line in lines {
        for w in examples::wordcount::words(line.as_ref()) {
            if !w.is_empty() && w != "the" {
                *counts.entry(w).or_insert(0) += 1;
            }
        }
    }
    counts
}
