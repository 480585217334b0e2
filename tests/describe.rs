//! `describe()` compared byte for byte with what Apache Kafka Streams 4.4 prints for the same
//! topologies (`tools/kafka-reference/Reference.java` wrote the fixtures).

use streams_runtime::prelude::*;

use streams_tests::fixture;

fn split_merge() -> Topology {
    streams_tests::split_merge_by_hand()
}

#[test]
fn split_merge_and_two_sinks_print_as_kafka_prints_them() {
    assert_eq!(split_merge().describe().to_string(), fixture("describe_split_merge.txt"));
}

#[test]
fn every_operator_and_three_subtopologies_print_as_kafka_prints_them() {
    let b = StreamsBuilder::new();
    b.stream_topics::<(), String>(&["lines-a", "lines-b"])
        .flat_map_values(|v| v.split(' ').map(str::to_string).collect::<Vec<_>>())
        .filter_not(|_, v| v.is_empty())
        .select_key(|_, v| v.clone())
        .peek(|_, _| {})
        .to("words");
    b.stream::<String, String>("words").map(|k, v| (v, k)).flat_map(|k, v| [(k, v)]).foreach(|_, _| {});
    b.stream_pattern::<String, String>("logs-.*").to("all-logs");
    assert_eq!(b.build().describe().to_string(), fixture("describe_every_operator.txt"));
}

/// A user's name replaces a generated one, and the counter moves on anyway, as Kafka 4.4 prints
/// it (`NamedInternal.orElseGenerateWithPrefix` burns the number "to keep topology backward
/// compatibility"): the same topology written in Java gives `KSTREAM-MAPVALUES-0000000002`.
#[test]
fn user_names_replace_generated_ones_and_still_use_a_number() {
    let b = StreamsBuilder::new();
    b.named("read-input")
        .stream::<String, String>("in")
        .named("drop-empty")
        .filter(|_, v| !v.is_empty())
        .map_values(|v| v.len() as i64)
        .named("write-lengths")
        .to("out");
    let text = b.build().describe().to_string();
    assert_eq!(
        text,
        "Topologies:\n   Sub-topology: 0\n    Source: read-input (topics: [in])\n      --> drop-empty\n    \
         Processor: drop-empty (stores: [])\n      --> KSTREAM-MAPVALUES-0000000002\n      <-- read-input\n    \
         Processor: KSTREAM-MAPVALUES-0000000002 (stores: [])\n      --> write-lengths\n      <-- drop-empty\n    \
         Sink: write-lengths (topic: out)\n      <-- KSTREAM-MAPVALUES-0000000002\n\n"
    );
}

#[test]
fn mermaid_shows_every_node_edge_and_topic() {
    let mermaid = split_merge().describe().to_mermaid();
    assert!(mermaid.starts_with("flowchart TD\n"));
    assert!(mermaid.contains("subgraph sub0[\"Sub-topology: 0\"]"));
    for node in ["KSTREAM-SOURCE-0000000000", "KSTREAM-MERGE-0000000007", "KSTREAM-BRANCH-0000000002negative"]
    {
        assert!(mermaid.contains(&format!("[\"{node}\"]")), "{node} missing:\n{mermaid}");
    }
    for topic in ["input", "positives", "absolute"] {
        assert!(mermaid.contains(&format!("[/\"{topic}\"/]")), "{topic} missing:\n{mermaid}");
    }
    // 9 edges between nodes (the merge has two incoming), 1 topic in, 2 topics out.
    assert_eq!(mermaid.matches(" --> ").count(), 9 + 3, "{mermaid}");
}
