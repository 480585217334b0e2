//! `topology!` expands into the builder: the same graph (`describe()`), the same output.

use streams_runtime::prelude::*;

fn by_hand() -> Topology {
    let b = StreamsBuilder::new();
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

fn by_macro() -> Topology {
    topology! {
        stream::<String, i64>("input")
            |> filter(|_, v| *v != 0)
            |> split(negative = |_, v| *v < 0, default = positive);
        negative |> map_values(|v| -v) |> merge(positive) |> to("absolute");
        positive |> to("positives");
    }
}

#[test]
fn the_macro_builds_the_graph_the_builder_builds() {
    // Statement order differs (the macro's `to("positives")` comes last), so compare the
    // parts that do not depend on numbering: sub-topologies, sinks and topics.
    let (hand, mac) = (by_hand().describe(), by_macro().describe());
    assert_eq!(hand.subtopology_count(), mac.subtopology_count());
    for needle in
        ["(topics: [input])", "(topic: positives)", "(topic: absolute)", "KSTREAM-BRANCH-0000000002negative"]
    {
        assert!(mac.to_string().contains(needle), "{needle} in\n{mac}");
    }
}

#[test]
fn the_same_statements_give_the_same_describe_text() {
    let mac = topology! {
        stream::<(), String>("lines")
            |> flat_map_values(|l| l.split(' ').map(String::from).collect::<Vec<_>>())
            |> filter(|_, w| w != "the")
            |> select_key(|_, w| w.clone())
            |> to("words");
    };
    let b = StreamsBuilder::new();
    b.stream::<(), String>("lines")
        .flat_map_values(|l| l.split(' ').map(String::from).collect::<Vec<_>>())
        .filter(|_, w| w != "the")
        .select_key(|_, w| w.clone())
        .to("words");
    assert_eq!(mac.describe().to_string(), b.build().describe().to_string());
}

#[test]
fn macro_topologies_run_on_the_test_driver() {
    let driver = TestDriver::new(by_macro()).with_partitions(2);
    driver.input::<String, i64>("input").pipe_all([
        ("a".into(), -3, 1),
        ("b".into(), 0, 2),
        ("c".into(), 4, 3),
    ]);
    let mut absolute = driver.output::<String, i64>("absolute").read_key_values();
    absolute.sort();
    assert_eq!(absolute, vec![("a".into(), 3), ("c".into(), 4)]);
    assert_eq!(driver.output::<String, i64>("positives").read_key_values(), vec![("c".into(), 4)]);
}

#[test]
fn a_bound_pipeline_used_twice_runs_its_stages_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static PEEKS: AtomicUsize = AtomicUsize::new(0);
    let topology = topology! {
        let cleaned = stream::<String, String>("in")
            |> map_values(|v| v.trim().to_string())
            |> peek(|_, _| { PEEKS.fetch_add(1, Ordering::SeqCst); });
        cleaned |> to("a");
        cleaned |> map_values(|v| v.len() as i64) |> to("b");
    };
    let driver = TestDriver::new(topology);
    driver.input::<String, String>("in").pipe("k".into(), "  hi ".into(), 0);
    assert_eq!(PEEKS.load(Ordering::SeqCst), 1);
    assert_eq!(driver.output::<String, String>("a").read_key_values(), vec![("k".into(), "hi".into())]);
    assert_eq!(driver.output::<String, i64>("b").read_key_values(), vec![("k".into(), 2)]);
}

#[test]
fn names_codecs_and_sources_by_pattern() {
    let topology = topology! {
        stream::<String, String>(pattern = "logs-.*", name = "read-logs")
            |> map_values(|v| v.len() as i32, name = "length")
            |> to::<String, i32>("lengths", name = "write-lengths");
    };
    let text = topology.describe().to_string();
    assert!(text.contains("Source: read-logs (topics: logs-.*)"), "{text}");
    assert!(text.contains("Processor: length (stores: [])"), "{text}");
    assert!(text.contains("Sink: write-lengths (topic: lengths)"), "{text}");
    let driver = TestDriver::new(topology);
    driver.input::<String, String>("logs-web").pipe("k".into(), "hello".into(), 0);
    assert_eq!(driver.output::<String, i32>("lengths").read_key_values(), vec![("k".into(), 5)]);
}
