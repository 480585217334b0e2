//! `topology!` expands into the builder: the same graph (`describe()`), the same output.

use streams_runtime::prelude::*;

fn by_hand() -> Topology {
    streams_tests::split_merge_by_hand()
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

#[test]
fn word_count_with_the_macro_describes_as_the_builder_and_counts() {
    fn words(line: &str) -> Vec<String> {
        line.to_lowercase().split(|c: char| !c.is_alphanumeric()).map(String::from).collect()
    }
    let mac = topology! {
        stream::<(), String>("wordcount-input")
            |> flat_map_values(|line| words(&line))
            |> filter(|_, w| !w.is_empty() && w != "the")
            |> select_key(|_, w| w.clone())
            |> group_by_key
            |> count
            |> to_stream
            |> to("wordcount-output");
    };
    let text = streams_tests::fixture("describe_wordcount.txt");
    assert_eq!(mac.describe().to_string(), text);
    let driver = TestDriver::new(mac).with_partitions(2);
    driver.input::<(), String>("wordcount-input").pipe((), "the cat and the hat and".into(), 0);
    let mut counts = std::collections::BTreeMap::new();
    for (w, n) in driver.output::<String, i64>("wordcount-output").read_key_values() {
        counts.insert(w, n);
    }
    assert_eq!(counts, [("and".to_string(), 2), ("cat".into(), 1), ("hat".into(), 1)].into_iter().collect());
}

#[test]
fn tables_group_by_and_aggregate_with_the_macro() {
    let topology = topology! {
        let regions = table::<String, String>("user-regions");
        regions
            |> group_by(|user, region| (region.clone(), user.clone()))
            |> count(name = "users-per-region")
            |> to_stream
            |> to("users-per-region");
        stream::<String, i64>("amounts")
            |> group_by(|k, _| k[..1].to_string())
            |> aggregate(|| 0i64, |_, v, sum| sum + v)
            |> to_stream
            |> to("by-initial");
        stream::<String, i64>("prices")
            |> to_table
            |> filter(|_, p| *p > 0)
            |> map_values(|p| p * 100)
            |> to_stream
            |> to("cents");
    };
    let driver = TestDriver::new(topology);
    let regions = driver.input::<String, Option<String>>("user-regions");
    regions.pipe("ann".into(), Some("north".into()), 1);
    regions.pipe("ann".into(), Some("south".into()), 2);
    assert_eq!(driver.key_value_store::<String, i64>("users-per-region").unwrap().len(), 2);
    driver.input::<String, i64>("amounts").pipe_all([("ab".into(), 1, 0), ("ac".into(), 2, 0)]);
    assert_eq!(
        driver.output::<String, i64>("by-initial").read_key_values().last(),
        Some(&("a".to_string(), 3))
    );
    driver.input::<String, i64>("prices").pipe_all([("x".into(), 2, 0), ("x".into(), -1, 1)]);
    assert_eq!(
        driver.output::<String, Option<i64>>("cents").read_key_values(),
        vec![("x".into(), Some(200)), ("x".into(), None)]
    );
}

#[test]
fn global_tables_are_joined_through_a_key_function() {
    let topology = topology! {
        let countries = global_table::<String, String>("countries");
        stream::<String, String>("orders")
            |> left_join(countries, |_order, country| country.clone(), |order, name| format!("{order} to {}", name.unwrap_or_default()))
            |> to("shipments");
    };
    let driver = TestDriver::new(topology).with_partitions(2);
    driver.input::<String, Option<String>>("countries").pipe("fr".into(), Some("France".into()), 1);
    driver
        .input::<String, String>("orders")
        .pipe_all([("o1".into(), "fr".into(), 2), ("o2".into(), "xx".into(), 3)]);
    let mut out: Vec<String> =
        driver.output::<String, String>("shipments").read_key_values().into_iter().map(|(_, v)| v).collect();
    out.sort();
    assert_eq!(out, vec!["fr to France".to_string(), "xx to ".to_string()]);
}

/// Counts each key's records in the store `counts` (the Processor API).
struct Counter {
    counts: Option<streams_runtime::processor::KeyValueStoreRef<String, i64>>,
}

impl Counter {
    fn new() -> Self {
        Counter { counts: None }
    }
}

impl streams_runtime::processor::Processor<String, String> for Counter {
    type KOut = String;
    type VOut = i64;

    fn init(&mut self, ctx: &mut streams_runtime::processor::InitContext<'_>) {
        self.counts = Some(
            ctx.key_value_store(&streams_runtime::processor::Stores::key_value::<String, i64>("counts")),
        );
    }

    fn process(
        &mut self,
        ctx: &mut streams_runtime::processor::ProcessorContext<'_, String, i64>,
        record: Record<String, String>,
    ) {
        let counts = self.counts.as_ref().unwrap();
        let n = counts.get(&record.key).unwrap_or(0) + 1;
        counts.put(record.key.clone(), n);
        let key = record.key.clone();
        ctx.forward(record.with(key, n));
    }
}

#[test]
fn a_repartition_in_the_macro_is_the_builders() {
    let by_macro = topology! {
        stream::<String, i64>("in")
            |> select_key(|_, v| format!("k{}", v % 2))
            |> repartition(partitions = 3, name = "parity")
            |> group_by_key
            |> count
            |> to_stream
            |> to("out");
        stream::<String, i64>("more") |> repartition |> to("copied");
    };
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("in")
        .select_key(|_, v| format!("k{}", v % 2))
        .repartition_with(Repartitioned::named("parity").with_number_of_partitions(3))
        .group_by_key()
        .count()
        .to_stream()
        .to("out");
    b.stream::<String, i64>("more").repartition().to("copied");
    let by_hand = b.build();
    assert_eq!(by_macro.describe().to_string(), by_hand.describe().to_string());
    assert!(by_macro
        .describe()
        .to_string()
        .contains("Sink: parity-repartition-sink (topic: parity-repartition)"));
    assert_eq!(by_macro.internal_topic_partitions("app"), by_hand.internal_topic_partitions("app"));
    let driver = TestDriver::new(by_macro);
    driver.input::<String, i64>("in").pipe_all([("a".into(), 1, 0), ("b".into(), 3, 1), ("c".into(), 2, 2)]);
    let counts = driver.output::<String, i64>("out").read_key_values();
    assert_eq!(counts, [("k1".to_string(), 1), ("k1".to_string(), 2), ("k0".to_string(), 1)]);
}

#[test]
fn a_suppression_in_the_macro_is_the_builders() {
    let by_macro = topology! {
        stream::<String, i64>("in")
            |> group_by_key
            |> count
            |> suppress(100ms, max_records = 2, name = "limited")
            |> to_stream
            |> to("out");
        table::<String, String>("t") |> suppress(1s) |> to_stream |> to("t-out");
    };
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("in")
        .group_by_key()
        .count()
        .suppress(
            Suppressed::until_time_limit(std::time::Duration::from_millis(100), BufferConfig::max_records(2))
                .with_name("limited"),
        )
        .to_stream()
        .to("out");
    b.table::<String, String>("t")
        .suppress(Suppressed::until_time_limit(std::time::Duration::from_secs(1), BufferConfig::unbounded()))
        .to_stream()
        .to("t-out");
    let by_hand = b.build();
    assert_eq!(by_macro.describe().to_string(), by_hand.describe().to_string());
    assert!(by_macro.describe().to_string().contains("Processor: limited (stores: [limited-store])"));
    // Held until stream time is 100 ms past the first held update; two keys at most.
    let driver = TestDriver::new(by_macro);
    let (input, mut output) = (driver.input::<String, i64>("in"), driver.output::<String, i64>("out"));
    input.pipe_all([("a".into(), 1, 0), ("a".into(), 1, 50), ("b".into(), 1, 60)]);
    assert!(output.read_key_values().is_empty());
    input.pipe_all([("c".into(), 1, 70)]); // a third key: the oldest, `a`, goes early
    assert_eq!(output.read_key_values(), [("a".to_string(), 2)]);
    // `b` held since 60 (not since 160: a later update keeps its place): up at 160; `c` is not.
    input.pipe_all([("b".into(), 1, 160)]);
    assert_eq!(output.read_key_values(), [("b".to_string(), 2)]);
}

#[test]
fn a_tables_value_transformer_in_the_macro_is_the_builders() {
    use streams_runtime::processor::{InitContext, KeyValueStoreRef, Stores, ValueTransformerWithKey};
    /// Numbers each key's values: `value#n`.
    #[derive(Default)]
    struct Numbered(Option<KeyValueStoreRef<String, i64>>);
    impl ValueTransformerWithKey<String, String> for Numbered {
        type VOut = String;
        fn init(&mut self, ctx: &mut InitContext<'_>) {
            self.0 = Some(ctx.key_value_store(&Stores::key_value::<String, i64>("seen")));
        }
        fn transform(&mut self, key: &String, value: Option<&String>) -> Option<String> {
            let seen = self.0.as_ref().unwrap();
            let n = seen.get(key).unwrap_or(0) + 1;
            seen.put(key.clone(), n);
            value.map(|v| format!("{v}#{n}"))
        }
    }
    let by_macro = topology! {
        table::<String, String>("names")
            |> transform_values(Numbered::default, stores = [Stores::key_value::<String, i64>("seen")])
            |> to_stream
            |> to("numbered");
    };
    let b = StreamsBuilder::new();
    b.table::<String, String>("names")
        .transform_values_with_stores(Numbered::default, &[&Stores::key_value::<String, i64>("seen")])
        .to_stream()
        .to("numbered");
    assert_eq!(by_macro.describe().to_string(), b.build().describe().to_string());
    let driver = TestDriver::new(by_macro);
    driver
        .input::<String, String>("names")
        .pipe_all([("a".into(), "x".into(), 0), ("a".into(), "y".into(), 1)]);
    assert_eq!(
        driver.output::<String, Option<String>>("numbered").read_key_values(),
        [("a".to_string(), Some("x#1".to_string())), ("a".to_string(), Some("y#2".to_string()))]
    );
}

#[test]
fn cogrouped_streams_in_the_macro_are_the_builders() {
    let by_macro = topology! {
        let clicks = stream::<String, String>("clicks") |> group_by_key;
        stream::<String, i64>("purchases")
            |> group_by_key
            |> cogroup(|_, amount, spent: i64| spent + amount)
            |> cogroup(clicks, |_, _page, spent| spent - 1)
            |> aggregate(|| 0)
            |> to_stream
            |> to("balance");
    };
    let b = StreamsBuilder::new();
    let clicks = b.stream::<String, String>("clicks").group_by_key();
    b.stream::<String, i64>("purchases")
        .group_by_key()
        .cogroup(|_, amount, spent: i64| spent + amount)
        .cogroup(clicks, |_, _page, spent| spent - 1)
        .aggregate(|| 0)
        .to_stream()
        .to("balance");
    assert_eq!(by_macro.describe().to_string(), b.build().describe().to_string());
    let driver = TestDriver::new(by_macro);
    driver.input::<String, i64>("purchases").pipe_all([("ann".into(), 30, 0)]);
    driver.input::<String, String>("clicks").pipe_all([("ann".into(), "/".into(), 1)]);
    assert_eq!(
        driver.output::<String, i64>("balance").read_key_values(),
        [("ann".to_string(), 30), ("ann".to_string(), 29)]
    );
}

#[test]
fn a_processor_with_its_store_in_the_macro_is_the_builders() {
    use streams_runtime::processor::Stores;
    let by_macro = topology! {
        stream::<String, String>("in")
            |> process(Counter::new, stores = [Stores::key_value::<String, i64>("counts")])
            |> map_values(|n| n * 10)
            |> to("out");
    };
    let b = StreamsBuilder::new();
    b.stream::<String, String>("in")
        .process_with_stores(Counter::new, &[&Stores::key_value::<String, i64>("counts")])
        .map_values(|n| n * 10)
        .to("out");
    assert_eq!(by_macro.describe().to_string(), b.build().describe().to_string());
    let driver = TestDriver::new(by_macro);
    let input = driver.input::<String, String>("in");
    input.pipe_all([("a".into(), "x".into(), 0), ("a".into(), "y".into(), 1), ("b".into(), "z".into(), 2)]);
    // `process_values` keeps keys: no repartition before the count.
    struct Tag;
    impl streams_runtime::processor::FixedKeyProcessor<String, String> for Tag {
        type VOut = String;
        fn process(
            &mut self,
            ctx: &mut streams_runtime::processor::FixedKeyContext<'_, String, String>,
            r: streams_runtime::processor::FixedKeyRecord<String, String>,
        ) {
            let tagged = format!("{}:{}", r.key(), r.value);
            ctx.forward(r.with_value(tagged));
        }
    }
    let tagged = topology! {
        stream::<String, String>("in") |> process_values(|| Tag) |> group_by_key |> count |> to_stream |> to("counts");
    };
    assert_eq!(tagged.describe().subtopology_count(), 1, "{}", tagged.describe());
    assert_eq!(
        driver.output::<String, i64>("out").read_key_values(),
        [("a".into(), 10), ("a".into(), 20), ("b".into(), 10)]
    );
}

#[test]
fn an_optimization_attribute_builds_as_the_builder_with_that_config() {
    let by_macro = topology! {
        #![optimization = "all"]
        let rekeyed = stream::<String, i64>("in") |> select_key(|_, v| v.rem_euclid(3));
        rekeyed |> group_by_key |> count |> to_stream |> to("counts");
        rekeyed |> group_by_key |> reduce(|a, v| a.max(v)) |> to_stream |> to("maxima");
    };
    let b = StreamsBuilder::new();
    let rekeyed = b.stream::<String, i64>("in").select_key(|_, v| v.rem_euclid(3));
    rekeyed.clone().group_by_key().count().to_stream().to("counts");
    rekeyed.group_by_key().reduce(|a, v| a.max(v)).to_stream().to("maxima");
    let by_hand = b.build_optimized(Optimizations::ALL);
    assert_eq!(by_macro.describe().to_string(), by_hand.describe().to_string());
    // One repartition topic for both aggregations.
    assert_eq!(by_macro.describe().subtopology_count(), 2);
}

/// The expansion is hygienic: a name the topology binds, or one of the expansion's own
/// bindings, is invisible to the user's closures, so a variable of the same name outside the
/// macro keeps its meaning (it used to be captured, silently rewiring the closure).
#[test]
#[allow(non_snake_case)]
fn the_user_s_variables_are_not_captured_by_the_expansion() {
    let limit: i64 = 10;
    let __streams_p1_1: i64 = 100;
    let __streams_builder: i64 = 1000;
    let topology = topology! {
        let limit = stream::<String, i64>("in");
        limit
            |> filter(move |_, v| *v > limit)
            |> map_values(move |v| v + __streams_p1_1 + __streams_builder)
            |> to("out");
    };
    let driver = TestDriver::new(topology);
    driver.input::<String, i64>("in").pipe_all([("a".to_string(), 5, 0), ("b".to_string(), 20, 1)]);
    let out = driver.output::<String, i64>("out").read_key_values();
    assert_eq!(out, vec![("b".to_string(), 1120)]);
}

/// `aggregate_merging` after `pre_aggregated`: the macro writes the builder's call, and the
/// driver's table is the plain `aggregate`'s.
#[test]
fn a_pre_aggregated_merging_aggregate_is_the_plain_aggregates_table() {
    let merged = topology! {
        stream::<(), String>("lines")
            |> flat_map_values(|l| l.split(' ').map(String::from).collect::<Vec<_>>())
            |> select_key(|_, w| w.clone())
            |> group_by_key
            |> pre_aggregated
            |> aggregate_merging(|| 0i64, |_, w, n| n + w.len() as i64, |_, a, b| a + b)
            |> to_stream
            |> to("letters");
    };
    let plain = topology! {
        stream::<(), String>("lines")
            |> flat_map_values(|l| l.split(' ').map(String::from).collect::<Vec<_>>())
            |> select_key(|_, w| w.clone())
            |> group_by_key
            |> aggregate(|| 0i64, |_, w, n| n + w.len() as i64)
            |> to_stream
            |> to("letters");
    };
    assert!(merged.describe().to_string().contains("-combine"), "{}", merged.describe());
    let table = |topology| {
        let driver = TestDriver::new(topology);
        let input = driver.input::<(), String>("lines");
        for (i, line) in ["ab c ab", "c dddd", "ab"].into_iter().enumerate() {
            input.pipe((), line.to_string(), i as i64);
        }
        let mut last = std::collections::BTreeMap::new();
        last.extend(driver.output::<String, i64>("letters").read_key_values());
        last
    };
    let expected = [("ab", 6), ("c", 2), ("dddd", 4)].map(|(w, n)| (w.to_string(), n));
    assert_eq!(table(merged), expected.clone().into_iter().collect());
    assert_eq!(table(plain), expected.into_iter().collect());
}
