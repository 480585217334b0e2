//! Word count (the seed's section 1.1): lowercase each line, split it on non-word
//! characters, drop empty words and `the`, key by word, count.

use streams_runtime::cli::Demo;
use streams_runtime::prelude::*;

/// The input topic: lines of text, null keys.
pub const INPUT: &str = "wordcount-input";
/// The output topic: `String` words, `i64` counts.
pub const OUTPUT: &str = "wordcount-output";

/// The sample text the demo counts.
pub const SAMPLE: &[&str] = &[
    "Kafka Streams is a client library for building applications and microservices,",
    "where the input and output data are stored in Kafka clusters.",
    "It combines the simplicity of writing and deploying standard applications",
    "on the client side with the benefits of Kafka's server-side cluster technology.",
];

/// The words of a line, lowercased; empty words are kept here and dropped by the topology.
pub fn words(line: &str) -> Vec<String> {
    line.to_lowercase().split(|c: char| !(c.is_alphanumeric() || c == '_')).map(String::from).collect()
}

/// The topology.
pub fn topology() -> Topology {
    topology! {
        stream::<(), String>("wordcount-input")
            |> flat_map_values(|line| words(&line))
            |> filter(|_, word| !word.is_empty() && word != "the")
            |> select_key(|_, word| word.clone())
            |> group_by_key
            |> count
            |> to_stream
            |> to("wordcount-output");
    }
}

/// The same word count between topics of the caller's (the builder API, for benchmarks and
/// tests that give each run topics of its own).
pub fn topology_on(input: &str, output: &str) -> Topology {
    topology_splitting_with(input, output, |line| words(&line))
}

/// [`topology_on`] with `split` making a line's words (the fault tests wrap [`words`]).
pub fn topology_splitting_with(
    input: &str,
    output: &str,
    split: impl Fn(String) -> Vec<String> + Send + Sync + 'static,
) -> Topology {
    let b = streams_runtime::StreamsBuilder::new();
    b.stream::<(), String>(input)
        .flat_map_values(split)
        .filter(|_, word| !word.is_empty() && word != "the")
        .select_key(|_, word| word.clone())
        .group_by_key()
        .count()
        .to_stream()
        .to(output);
    b.build()
}

/// Writes the sample text, one second apart from 1 s on (librdkafka cannot write a
/// timestamp of 0: it reads 0 as "now").
pub fn demo(demo: &Demo) {
    for (i, line) in SAMPLE.iter().enumerate() {
        demo.send::<(), String>(INPUT, (), line.to_string(), 1_000 * (i as i64 + 1));
    }
}

/// Deterministic text for benchmarks, about `bytes` long in lines of ~80 bytes: words from a 5,000-word vocabulary with a skewed distribution.
pub fn synthetic_text(bytes: usize) -> Vec<String> {
    let vocabulary: Vec<String> = (0..5_000).map(|i| format!("w{}x{}", i % 97, i)).collect();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut lines, mut size) = (Vec::new(), 0);
    while size < bytes {
        let mut line = String::new();
        while line.len() < 80 {
            let r = next();
            let word = if r % 10 == 0 {
                "the"
            } else {
                &vocabulary[((r >> 8) % 5_000 * ((r >> 30) % 5_000) / 5_000) as usize]
            };
            line.push_str(word);
            line.push(if r % 7 == 0 { ',' } else { ' ' });
        }
        size += line.len() + 1;
        lines.push(line);
    }
    lines
}

/// [`topology_on`] with the counts pre-aggregated before the repartition topic
/// ([`KGroupedStream::pre_aggregated`](streams_runtime::KGroupedStream::pre_aggregated)): each
/// task sends one partial count per word and commit instead of one record per word.
pub fn pre_aggregated_topology_on(input: &str, output: &str) -> Topology {
    topology! {
        stream::<(), String>(input)
            |> flat_map_values(|line| words(&line))
            |> filter(|_, word| !word.is_empty() && word != "the")
            |> select_key(|_, word| word.clone())
            |> group_by_key
            |> pre_aggregated
            |> count
            |> to_stream
            |> to(output);
    }
}
