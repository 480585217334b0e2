//! `describe()` compared byte for byte with what Apache Kafka Streams 4.4 prints for the same
//! topologies (`tools/kafka-reference/Reference.java` wrote the fixtures).

use streams_runtime::prelude::*;
use streams_runtime::StreamsConfig;

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

/// A re-keyed stream counted and reduced: two repartitions of one key change.
fn rekeyed_count_and_max(b: &StreamsBuilder) {
    let rekeyed = b.stream::<String, i64>("in").select_key(|_, v| format!("r{}", v.rem_euclid(3)));
    rekeyed.clone().filter(|_, v| *v >= 0).group_by_key().count().to_stream().to("counts");
    rekeyed.group_by_key().reduce(|a, v| a.max(v)).to_stream().to("maxima");
}

#[test]
fn topology_optimization_merges_the_repartitions_of_one_key_change() {
    let plain = StreamsBuilder::new();
    rekeyed_count_and_max(&plain);
    let plain = plain.build();
    let optimized = StreamsBuilder::new();
    rekeyed_count_and_max(&optimized);
    let mut config = StreamsConfig::new("app");
    config.set("topology.optimization", "all");
    let optimized = optimized.build_with(&config).expect("a valid optimization config");

    let repartitions = |t: &Topology| -> Vec<String> {
        t.internal_topic_configs("app")
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| n.ends_with("-repartition"))
            .collect()
    };
    assert_eq!(plain.describe().subtopology_count(), 3);
    assert_eq!(repartitions(&plain).len(), 2);
    assert_eq!(optimized.describe().subtopology_count(), 2);
    assert_eq!(
        repartitions(&optimized),
        vec!["app-KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition".to_string()]
    );
    // The filter moved behind the repartition, which now follows the key selection.
    let text = optimized.describe().to_string();
    assert!(text.contains("KSTREAM-KEY-SELECT-0000000001 (stores: [])\n      --> KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition-filter"), "{text}");
    assert!(text.contains("--> KSTREAM-FILTER-0000000002, KSTREAM-REDUCE-"), "{text}");

    // Same outputs, one topic fewer.
    let run = |t: Topology| {
        let driver = TestDriver::new(t);
        let input = driver.input::<String, i64>("in");
        for (i, v) in [5, -1, 8, 2, 11, -4, 3].into_iter().enumerate() {
            input.pipe(format!("k{i}"), v, i as i64);
        }
        (
            driver.output::<String, i64>("counts").read_key_values(),
            driver.output::<String, i64>("maxima").read_key_values(),
        )
    };
    let (counts, maxima) = run(optimized);
    assert_eq!((counts.clone(), maxima.clone()), run(plain));
    assert_eq!(counts.last(), Some(&("r0".to_string(), 1)));
    assert_eq!(maxima.last(), Some(&("r0".to_string(), 3)));
}

#[test]
fn topology_optimization_takes_kafkas_values_only() {
    let parse = |v: &str| Optimizations::parse(v);
    assert_eq!(parse("none").unwrap(), Optimizations::NONE);
    assert_eq!(parse("all").unwrap(), Optimizations::ALL);
    assert!(parse("merge.repartition.topics, reuse.ktable.source.topics").unwrap().merge_repartitions);
    assert!(!parse("single.store.self.join").unwrap().merge_repartitions);
    for bad in ["fast", "all,merge.repartition.topics", ""] {
        let err = parse(bad).unwrap_err().to_string();
        assert!(err.contains("topology.optimization"), "{bad}: {err}");
    }
    let mut config = StreamsConfig::new("app");
    config.set("topology.optimization", "everything");
    assert!(StreamsBuilder::new().build_with(&config).is_err());
}

/// Two streams repartitioned to `left` and `right` partitions, joined.
fn repartitioned_join(left: u32, right: u32) -> StreamsBuilder {
    let b = StreamsBuilder::new();
    let l = b
        .stream::<String, String>("left")
        .repartition_with(Repartitioned::named("l").with_number_of_partitions(left));
    let r = b
        .stream::<String, String>("right")
        .repartition_with(Repartitioned::named("r").with_number_of_partitions(right));
    l.join_windowed(r, JoinWindows::within(std::time::Duration::from_millis(10)), |a, c| {
        format!("{a:?}{c:?}")
    })
    .to("out");
    b
}

#[test]
fn a_join_of_repartitions_with_different_fixed_partition_counts_is_refused_as_kafka_refuses_it() {
    let err = repartitioned_join(3, 5).build_with(&StreamsConfig::new("app")).unwrap_err().to_string();
    // Kafka's `TopologyException` from `validateCopartition`, word for word.
    assert_eq!(
        err,
        "invalid topology: Following topics do not have the same number of partitions: [{l-repartition=3, r-repartition=5}]"
    );
    assert!(repartitioned_join(4, 4).build_with(&StreamsConfig::new("app")).is_ok());
    let panic = std::panic::catch_unwind(|| repartitioned_join(2, 1).build()).unwrap_err();
    assert!(panic.downcast_ref::<String>().is_some_and(|m| m.contains("l-repartition=2, r-repartition=1")));
}
