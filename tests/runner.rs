//! The runner on the embedded cluster, and the standard command line.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::Arc;
use std::time::Duration;

use examples::wordcount;
use streams_runtime::cluster::memory::MemoryCluster;
use streams_runtime::cluster::Cluster;
use streams_runtime::partitioner::partition_for_key;
use streams_runtime::prelude::*;
use streams_runtime::{Headers, KafkaStreams, RunMode, StreamsConfig, StreamsError, ThreadResponse};
use streams_tests::golden_counts;

fn load(cluster: &MemoryCluster, lines: &[&str], from_ts: i64) {
    for (i, line) in lines.iter().enumerate() {
        cluster
            .produce(
                wordcount::INPUT,
                None,
                None,
                Some(line.as_bytes().to_vec()),
                from_ts + i as i64,
                Headers::new(),
            )
            .unwrap();
    }
}

fn run(cluster: &MemoryCluster, config: StreamsConfig) -> KafkaStreams {
    let streams = KafkaStreams::new(wordcount::topology(), config, Arc::new(cluster.clone()));
    tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    streams
}

/// The last count of each word on the output topic, checking each record sits in the
/// partition murmur2 gives its key.
fn final_counts(cluster: &MemoryCluster, partitions: u32) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for r in cluster.records_in_order(wordcount::OUTPUT) {
        let key = r.key.clone().unwrap();
        assert_eq!(r.partition, partition_for_key(&key, partitions), "{:?}", String::from_utf8_lossy(&key));
        let n = i64::from_be_bytes(r.value.as_deref().unwrap().try_into().unwrap());
        counts.insert(String::from_utf8(key).unwrap(), n);
    }
    counts
}

#[test]
fn word_count_on_four_partitions_and_two_threads_is_golden_counts() {
    let cluster = MemoryCluster::with_auto_create(Some(4));
    cluster.create_topic(wordcount::INPUT, 4).unwrap();
    load(&cluster, wordcount::SAMPLE, 0);
    let mut config = StreamsConfig::new("wc");
    config.set("num.stream.threads", "2");
    let streams = run(&cluster, config);
    assert_eq!(cluster.partitions("wc-KSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition"), Some(4));
    assert_eq!(final_counts(&cluster, 4), golden_counts(wordcount::SAMPLE));
    // Interactive query: the store, read-only, from the running application.
    let store: BTreeMap<String, i64> = streams
        .key_value_store::<String, i64>("KSTREAM-AGGREGATE-STATE-STORE-0000000004")
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(store, golden_counts(wordcount::SAMPLE));
}

/// `repartition_with(..with_number_of_partitions(3))` on a two-partition input: the topic has
/// three partitions (three tasks read it), each record sits in its key's partition of three,
/// and a join against a two-partition table is refused as Kafka refuses it.
#[test]
fn an_explicit_repartition_has_the_partition_count_it_is_given() {
    let cluster = MemoryCluster::with_auto_create(Some(2));
    cluster.create_topic(wordcount::INPUT, 2).unwrap();
    load(&cluster, wordcount::SAMPLE, 0);
    let b = StreamsBuilder::new();
    b.stream::<Option<String>, String>(wordcount::INPUT)
        .flat_map_values(|line| wordcount::words(&line))
        .filter(|_, word| !word.is_empty() && word != "the")
        .select_key(|_, word| word.clone())
        .repartition_with(Repartitioned::named("words").with_number_of_partitions(3))
        .group_by_key()
        .count()
        .to_stream()
        .to(wordcount::OUTPUT);
    let streams = KafkaStreams::new(b.build(), StreamsConfig::new("three"), Arc::new(cluster.clone()));
    tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    assert_eq!(cluster.partitions("three-words-repartition"), Some(3));
    let repartitioned = cluster.records_in_order("three-words-repartition");
    for r in &repartitioned {
        assert_eq!(r.partition, partition_for_key(r.key.as_deref().unwrap(), 3));
    }
    assert!((0..3).all(|p| repartitioned.iter().any(|r| r.partition == p)), "every partition used");
    assert_eq!(final_counts(&cluster, 2), golden_counts(wordcount::SAMPLE));

    let b = StreamsBuilder::new();
    let table = b.table::<String, String>("two-partitions");
    b.stream::<String, String>(wordcount::INPUT)
        .repartition_with(Repartitioned::new().with_number_of_partitions(3))
        .join(table, |l, r| format!("{l}{r}"))
        .to("joined");
    cluster.create_topic("two-partitions", 2).unwrap();
    let streams = KafkaStreams::new(b.build(), StreamsConfig::new("copartition"), Arc::new(cluster.clone()));
    let err =
        tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap_err();
    assert!(
        matches!(
            err,
            StreamsError::NotCopartitioned { left_partitions: 3, right_partitions: 2, .. }
                | StreamsError::NotCopartitioned { left_partitions: 2, right_partitions: 3, .. }
        ),
        "{err}"
    );
}

/// Updates a suppression holds when the application stops are in its buffer's changelog: the
/// next run restores them and emits them when their time is up.
#[test]
fn a_suppression_buffer_is_restored_and_emitted_after_a_restart() {
    let cluster = MemoryCluster::with_auto_create(Some(1));
    cluster.create_topic("t", 1).unwrap();
    let topology = || {
        let b = StreamsBuilder::new();
        b.table::<String, String>("t")
            .suppress(Suppressed::until_time_limit(Duration::from_millis(100), BufferConfig::unbounded()))
            .to_stream()
            .to("held");
        b.build()
    };
    let put = |key: &str, value: &str, ts: i64| {
        cluster
            .produce(
                "t",
                None,
                Some(key.as_bytes().to_vec()),
                Some(value.as_bytes().to_vec()),
                ts,
                Headers::new(),
            )
            .unwrap();
    };
    let run = || {
        let streams = KafkaStreams::new(topology(), StreamsConfig::new("held"), Arc::new(cluster.clone()));
        tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    };
    let emitted = || -> Vec<(String, String, i64)> {
        cluster
            .records_in_order("held")
            .into_iter()
            .map(|r| {
                let text = |b: Option<Vec<u8>>| String::from_utf8(b.unwrap()).unwrap();
                (text(r.key), text(r.value), r.timestamp)
            })
            .collect()
    };
    put("a", "1", 0);
    put("b", "1", 10);
    put("a", "2", 20);
    run();
    assert!(emitted().is_empty(), "{:?}", emitted());
    // Stream time starts over; this record brings it past both held keys' time.
    put("c", "1", 150);
    run();
    // The table's record cache (on by default) coalesced `a`'s two updates before the
    // suppression saw them, so `a` was buffered at 20, after `b` (as in Kafka Streams, whose
    // materialized table forwards from its cache).
    assert_eq!(emitted(), [("b".into(), "1".into(), 10), ("a".into(), "2".into(), 20)]);
}

/// A versioned table's history survives a restart: the store is restored from its changelog,
/// every version of it, so a stream record after the restart joins the row valid at its own
/// timestamp.
#[test]
fn a_versioned_tables_history_is_restored_after_a_restart() {
    let cluster = MemoryCluster::with_auto_create(Some(1));
    for topic in ["profiles", "clicks"] {
        cluster.create_topic(topic, 1).unwrap();
    }
    let topology = || {
        let b = StreamsBuilder::new();
        let profiles =
            b.versioned_table::<String, String>("profiles", "profiles-by-time", Duration::from_secs(10));
        b.stream::<String, String>("clicks").join(profiles, |c, p| format!("{c}@{p}")).to("joined");
        b.build()
    };
    let put = |topic: &str, value: &str, ts: i64| {
        let bytes = |s: &str| Some(s.as_bytes().to_vec());
        cluster.produce(topic, None, bytes("ann"), bytes(value), ts, Headers::new()).unwrap();
    };
    let run = || {
        let streams =
            KafkaStreams::new(topology(), StreamsConfig::new("versioned"), Arc::new(cluster.clone()));
        tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    };
    put("profiles", "v1", 1_000);
    put("profiles", "v3", 3_000);
    put("profiles", "v2", 2_000);
    run();
    assert_eq!(
        cluster.records_in_order("versioned-profiles-by-time-changelog").len(),
        3,
        "one record a version"
    );
    put("clicks", "a", 1_500);
    put("clicks", "b", 2_500);
    put("clicks", "c", 3_500);
    run();
    let joined: Vec<String> = cluster
        .records_in_order("joined")
        .into_iter()
        .map(|r| String::from_utf8(r.value.unwrap()).unwrap())
        .collect();
    assert_eq!(joined, ["a@v1", "b@v2", "c@v3"]);
}

/// The records a stream-table join with a grace period holds are restored after a restart
/// (its buffer's changelog) and joined when their time is up, as of their own timestamps.
#[test]
fn a_stream_table_joins_waiting_records_are_restored_after_a_restart() {
    let cluster = MemoryCluster::with_auto_create(Some(1));
    for topic in ["profiles", "clicks"] {
        cluster.create_topic(topic, 1).unwrap();
    }
    let topology = || {
        let b = StreamsBuilder::new();
        let profiles =
            b.versioned_table::<String, String>("profiles", "profiles-by-time", Duration::from_secs(10));
        b.stream::<String, String>("clicks")
            .join_with_grace(profiles, Duration::from_secs(1), |c, p| format!("{c}@{p}"))
            .to("joined");
        b.build()
    };
    let put = |topic: &str, value: &str, ts: i64| {
        let bytes = |s: &str| Some(s.as_bytes().to_vec());
        cluster.produce(topic, None, bytes("ann"), bytes(value), ts, Headers::new()).unwrap();
    };
    let run = || {
        let streams = KafkaStreams::new(topology(), StreamsConfig::new("grace"), Arc::new(cluster.clone()));
        tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    };
    let joined = || -> Vec<String> {
        cluster
            .records_in_order("joined")
            .into_iter()
            .map(|r| String::from_utf8(r.value.unwrap()).unwrap())
            .collect()
    };
    put("profiles", "v1", 1_000);
    put("clicks", "a", 1_500);
    run();
    assert!(joined().is_empty(), "the click waits out its grace: {:?}", joined());
    put("profiles", "v2", 1_200);
    put("clicks", "b", 3_000);
    run();
    assert_eq!(joined(), ["a@v2"]);
}

/// Committed records of repartition topics are deleted every `repartition.purge.interval.ms`
/// (Kafka Streams' purge): the embedded cluster does not keep them for the whole run.
/// The record cache flushes its keys in the order of their latest updates, as Kafka's
/// `NamedCache` does (a key updated again moves behind the keys updated since): what comes out
/// of one commit is in the order of the updates' timestamps.
#[test]
fn the_record_cache_flushes_keys_in_the_order_of_their_latest_updates() {
    let cluster = MemoryCluster::with_auto_create(Some(1));
    cluster.create_topic(wordcount::INPUT, 1).unwrap();
    load(&cluster, &["a b a c b"], 0);
    let mut config = StreamsConfig::new("cache-order");
    config.set("commit.interval.ms", "600000");
    run(&cluster, config);
    let out: Vec<(String, i64)> = cluster
        .records_in_order(wordcount::OUTPUT)
        .into_iter()
        .map(|r| {
            let n = i64::from_be_bytes(r.value.as_deref().unwrap().try_into().unwrap());
            (String::from_utf8(r.key.unwrap()).unwrap(), n)
        })
        .collect();
    let expected = [("a", 2), ("c", 1), ("b", 2)].map(|(w, n)| (w.to_string(), n));
    assert_eq!(out, expected);
}

#[test]
fn committed_repartition_records_are_deleted() {
    let lines: Vec<String> = (0..3_000).map(|i| format!("w{} w{} common", i % 97, i % 13)).collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let repartition = |app: &str| format!("{app}-KSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition");
    let kept = |app: &str, purge: &str| {
        let cluster = MemoryCluster::with_auto_create(Some(2));
        cluster.create_topic(wordcount::INPUT, 2).unwrap();
        load(&cluster, &lines, 0);
        let mut config = StreamsConfig::new(app);
        config.set("commit.interval.ms", "0").set("repartition.purge.interval.ms", purge);
        run(&cluster, config);
        assert_eq!(final_counts(&cluster, 2), golden_counts(&lines));
        let end: u64 = (0..2).map(|p| cluster.end_offset(&repartition(app), p)).sum();
        (cluster.records_in_order(&repartition(app)).len() as u64, end)
    };
    let (kept_purged, end) = kept("purged", "0");
    assert_eq!(end, 9_000, "offsets go on from where they were");
    assert!(kept_purged < end / 2, "{kept_purged} of {end} records kept");
    assert_eq!(kept("kept", "3600000"), (9_000, 9_000));
}

/// `aggregate_merging` pre-aggregated ends with the table `aggregate` gives, through one
/// partial per word, task and commit; the merge function is what joins the partials.
#[test]
fn pre_aggregated_aggregate_merges_partials_into_the_same_table() {
    let lines: Vec<String> = (0..3_000).map(|i| format!("w{} ww{} common", i % 97, i % 13)).collect();
    let run = |app: &str, pre: bool| {
        let cluster = MemoryCluster::with_auto_create(Some(2));
        cluster.create_topic(wordcount::INPUT, 2).unwrap();
        load(&cluster, &lines.iter().map(String::as_str).collect::<Vec<_>>(), 0);
        let b = StreamsBuilder::new();
        let grouped = b
            .stream::<(), String>(wordcount::INPUT)
            .flat_map_values(|line| wordcount::words(&line))
            .select_key(|_, word| word.clone())
            .group_by_key();
        let grouped = if pre { grouped.pre_aggregated() } else { grouped };
        // Letters per word, and a merge that adds partial sums.
        grouped
            .aggregate_merging(|| 0i64, |_, word, n| n + word.len() as i64, |_, a, b| a + b)
            .to_stream()
            .to("letters");
        let mut config = StreamsConfig::new(app);
        config.set("repartition.purge.interval.ms", "3600000");
        let streams = KafkaStreams::new(b.build(), config, Arc::new(cluster.clone()));
        tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
        let mut table = BTreeMap::new();
        for r in cluster.records_in_order("letters") {
            let n = i64::from_be_bytes(r.value.as_deref().unwrap().try_into().unwrap());
            table.insert(String::from_utf8(r.key.unwrap()).unwrap(), n);
        }
        let repartition = format!("{app}-KSTREAM-AGGREGATE-STATE-STORE-0000000003-repartition");
        (table, cluster.records_in_order(&repartition).len())
    };
    let (plain, plain_records) = run("plain", false);
    let (merged, partials) = run("merged", true);
    assert_eq!(plain.len(), 97 + 13 + 1);
    assert_eq!(plain["common"], 3_000 * 6);
    assert_eq!(merged, plain);
    assert_eq!(plain_records, 9_000);
    assert!(partials <= 2 * 111, "{partials} partials");
}

/// Pre-aggregation (opt-in) ends with the same counts, through far fewer repartition
/// records: one partial count per word, task and commit. Every node, store and topic keeps
/// the name Kafka gives it; one node is added before the repartition.
#[test]
fn pre_aggregated_counts_are_the_same_through_fewer_repartition_records() {
    let lines: Vec<String> = (0..3_000).map(|i| format!("w{} w{} common", i % 97, i % 13)).collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let repartition_records = |app: &str, topology: Topology| {
        let cluster = MemoryCluster::with_auto_create(Some(2));
        cluster.create_topic(wordcount::INPUT, 2).unwrap();
        load(&cluster, &lines, 0);
        let mut config = StreamsConfig::new(app);
        config.set("repartition.purge.interval.ms", "3600000");
        let streams = KafkaStreams::new(topology, config, Arc::new(cluster.clone()));
        tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
        assert_eq!(final_counts(&cluster, 2), golden_counts(&lines), "{app}");
        cluster.records_in_order(&format!("{app}-KSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition")).len()
    };
    let (plain, pre) = (
        || wordcount::topology_on(wordcount::INPUT, wordcount::OUTPUT),
        || wordcount::pre_aggregated_topology_on(wordcount::INPUT, wordcount::OUTPUT),
    );
    assert_eq!(repartition_records("plain", plain()), 9_000);
    let partials = repartition_records("pre", pre());
    // 2 tasks and 97 + 13 + 1 words: one partial per word and task, in the run's one commit.
    assert!(partials <= 2 * 111, "{partials} partial counts");
    let (plain, pre) = (plain().describe().to_string(), pre().describe().to_string());
    let nodes = |d: &str| -> Vec<String> {
        d.lines().filter(|l| !l.contains("-->") && !l.contains("<--")).map(str::to_string).collect()
    };
    let added: Vec<String> = nodes(&pre).into_iter().filter(|l| !nodes(&plain).contains(l)).collect();
    assert_eq!(
        added,
        ["    Processor: KSTREAM-AGGREGATE-STATE-STORE-0000000004-combine (stores: [])"],
        "{pre}"
    );
}

#[test]
fn the_runner_and_the_test_driver_end_with_the_same_tables() {
    let cluster = MemoryCluster::with_auto_create(Some(3));
    cluster.create_topic(wordcount::INPUT, 3).unwrap();
    load(&cluster, wordcount::SAMPLE, 0);
    let streams = run(&cluster, StreamsConfig::new("same"));
    let driver = TestDriver::new(wordcount::topology()).with_partitions(3);
    let input = driver.input::<(), String>(wordcount::INPUT);
    for (i, line) in wordcount::SAMPLE.iter().enumerate() {
        input.pipe((), line.to_string(), i as i64);
    }
    let store = "KSTREAM-AGGREGATE-STATE-STORE-0000000004";
    let from_runner: BTreeMap<String, i64> = streams.key_value_store(store).unwrap().into_iter().collect();
    let from_driver: BTreeMap<String, i64> = driver.key_value_store(store).unwrap().into_iter().collect();
    assert_eq!(from_runner, from_driver);
}

#[test]
fn a_restarted_application_restores_its_state_and_continues_from_its_commits() {
    let cluster = MemoryCluster::with_auto_create(Some(2));
    cluster.create_topic(wordcount::INPUT, 2).unwrap();
    let (first, second) = wordcount::SAMPLE.split_at(2);
    load(&cluster, first, 0);
    run(&cluster, StreamsConfig::new("restart"));
    load(&cluster, second, 100);
    // A new instance: stores start empty, are restored from the changelog topics, and
    // input resumes at the committed offsets.
    let streams = run(&cluster, StreamsConfig::new("restart"));
    assert_eq!(final_counts(&cluster, 2), golden_counts(wordcount::SAMPLE));
    assert!(streams.processed_records() > 0);
    let changelog = cluster.records_in_order("restart-KSTREAM-AGGREGATE-STATE-STORE-0000000004-changelog");
    assert!(!changelog.is_empty());
}

#[test]
fn a_missing_source_topic_is_named() {
    let cluster = MemoryCluster::with_auto_create(None);
    let streams = KafkaStreams::new(wordcount::topology(), StreamsConfig::new("missing"), Arc::new(cluster));
    let err =
        tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap_err();
    assert!(matches!(&err, StreamsError::MissingSourceTopic(t) if t == "wordcount-input"), "{err}");
}

#[test]
fn a_record_that_cannot_be_decoded_stops_the_run_and_commits_nothing_past_it() {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("amounts").map_values(|v| v * 2).to("doubled");
    let cluster = MemoryCluster::with_auto_create(Some(1));
    cluster.create_topic("amounts", 1).unwrap();
    for (k, v) in [
        ("a", Some(1i64.to_be_bytes().to_vec())),
        ("b", Some(b"oops".to_vec())),
        ("c", Some(3i64.to_be_bytes().to_vec())),
    ] {
        cluster.produce("amounts", None, Some(k.as_bytes().to_vec()), v, 0, Headers::new()).unwrap();
    }
    let streams = KafkaStreams::new(b.build(), StreamsConfig::new("strict"), Arc::new(cluster.clone()));
    let err =
        tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap_err();
    assert!(err.to_string().contains("amounts-0 offset 1"), "{err}");
    assert_eq!(
        cluster.committed("strict", "amounts", 0),
        Some(1),
        "committed up to the bad record, not past it"
    );
    assert_eq!(cluster.records_in_order("doubled").len(), 1);
}

fn cli(args: &[&str], demo: bool) -> (std::process::ExitCode, String) {
    let mut out = Vec::new();
    let mut argv = vec!["wordcount"];
    argv.extend_from_slice(args);
    let code = streams_runtime::cli::run_with_args_to(
        "wordcount",
        wordcount::topology(),
        |d| {
            if demo {
                wordcount::demo(d)
            }
        },
        argv,
        &mut out,
    );
    (code, String::from_utf8(out).unwrap())
}

#[test]
fn cli_describe_prints_kafkas_text_or_mermaid() {
    let (code, text) = cli(&["--describe"], false);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    assert_eq!(text, wordcount::topology().describe().to_string());
    let (_, mermaid) = cli(&["--describe=mermaid"], false);
    assert!(mermaid.starts_with("flowchart TD"));
    let (_, spaced) = cli(&["--describe", "mermaid"], false);
    assert_eq!(spaced, mermaid);
}

/// `--help` names the application and the topics the topology reads and writes.
#[test]
fn cli_help_names_the_application_and_its_topics() {
    let (code, help) = cli(&["--help"], false);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    assert!(help.contains("--bootstrap-servers"), "{help}");
    assert!(help.contains("application.id: wordcount"), "{help}");
    assert!(help.contains(&format!("reads: {}", wordcount::INPUT)), "{help}");
    assert!(help.contains(&format!("writes: {}", wordcount::OUTPUT)), "{help}");
}

#[test]
fn cli_replays_text_and_jsonl_files_and_prints_every_sink_record() {
    let dir = std::env::temp_dir().join(format!("streams-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let txt = dir.join("lines.txt");
    std::fs::write(&txt, "to be or not to be\nthe end\n").unwrap();
    let (code, out) =
        cli(&["--input", &format!("wordcount-input={}", txt.display()), "--partitions", "4"], false);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let mut last = BTreeMap::new();
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["topic"], "wordcount-output");
        assert!(line.starts_with("{\"topic\":"), "field order: {line}");
        last.insert(v["key"].as_str().unwrap().to_string(), v["value"].as_i64().unwrap());
    }
    assert_eq!(last, golden_counts(&["to be or not to be", "the end"]));

    let jsonl = dir.join("lines.jsonl");
    std::fs::write(&jsonl, "{\"value\": \"b a\", \"timestamp\": 5}\n{\"key\": null, \"value\": \"a\"}\n")
        .unwrap();
    let (code, out) = cli(&["--input", &format!("wordcount-input={}", jsonl.display())], false);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["timestamp"], 5);
    // The record cache (Kafka's default 10 MiB) coalesces the two updates of `a`...
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[1].contains("\"key\":\"a\",\"value\":2"), "{out}");
    // ... and without a cache every update is written.
    let input = format!("wordcount-input={}", jsonl.display());
    let (_, out) = cli(&["--input", &input, "--set", "statestore.cache.max.bytes=0"], false);
    assert_eq!(out.lines().count(), 3, "{out}");
}

/// The README's command replays the text shipped in `examples/data/book.txt`.
#[test]
fn cli_replays_the_text_the_readme_names() {
    let book = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/book.txt");
    let text = std::fs::read_to_string(book).unwrap();
    let input = format!("wordcount-input={book}");
    let (code, out) = cli(&["--input", &input, "--partitions", "4", "--set", "num.stream.threads=2"], false);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let mut last = BTreeMap::new();
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        last.insert(v["key"].as_str().unwrap().to_string(), v["value"].as_i64().unwrap());
    }
    let golden = golden_counts(&text.lines().collect::<Vec<_>>());
    assert!(golden["stream"] > 5, "the text counts some words more than once");
    assert_eq!(last, golden);
}

#[test]
fn cli_without_input_runs_the_demo() {
    let (code, out) = cli(&["--set", "num.stream.threads=2"], true);
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    assert!(out.contains("\"key\":\"kafka\""), "{out}");
}

#[test]
fn cli_reports_a_bad_input_file_and_fails() {
    let (code, out) = cli(&["--input", "wordcount-input=/nonexistent/file.txt"], false);
    assert_eq!(code, std::process::ExitCode::FAILURE);
    assert!(out.is_empty());
    let (code, _) = cli(&["--input", "nosuchtopic=/dev/null"], false);
    assert_eq!(code, std::process::ExitCode::FAILURE);
}

#[test]
fn cli_pace_writes_the_demo_in_real_time_while_the_topology_runs() {
    let mut out = Vec::new();
    let code = streams_runtime::cli::run_with_args_to(
        "wordcount",
        wordcount::topology(),
        |d| {
            // Three lines 150 ms apart in event time: written over ~300 ms of wall clock.
            for (i, line) in ["a b", "b c", "c d"].iter().enumerate() {
                d.send::<(), String>(wordcount::INPUT, (), line.to_string(), 150 * i as i64);
            }
        },
        ["wordcount", "--pace", "--set", "commit.interval.ms=50"],
        &mut out,
    );
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let mut last = BTreeMap::new();
    for line in String::from_utf8(out).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        last.insert(v["key"].as_str().unwrap().to_string(), v["value"].as_i64().unwrap());
    }
    assert_eq!(last, golden_counts(&["a b", "b c", "c d"]));
}

/// Records when each write reached it.
struct TimedOut(Vec<(std::time::Instant, Vec<u8>)>);

impl std::io::Write for TimedOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.push((std::time::Instant::now(), buf.to_vec()));
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `--pace` without a commit interval shows counts while the demo is still being written (the
/// record cache would hold them for Kafka's 30 s default otherwise).
#[test]
fn cli_pace_shows_output_while_the_demo_is_written() {
    let mut out = TimedOut(Vec::new());
    let last_sent = std::sync::Mutex::new(None);
    let code = streams_runtime::cli::run_with_args_to(
        "wordcount",
        wordcount::topology(),
        |d| {
            // Three lines 1.5 s apart in event time: written over ~3 s of wall clock.
            for (i, line) in ["a b", "b c", "c d"].iter().enumerate() {
                d.send::<(), String>(wordcount::INPUT, (), line.to_string(), 1_500 * i as i64);
            }
            *last_sent.lock().unwrap() = Some(std::time::Instant::now());
        },
        ["wordcount", "--pace"],
        &mut out,
    );
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let last_sent = last_sent.lock().unwrap().expect("the demo ran");
    let first_output = out.0.first().map(|(at, _)| *at).expect("output");
    assert!(first_output < last_sent, "no output before the demo's last line was written");
}

/// A left join of `clicks` with `searches` in the second before each click.
fn click_search_join() -> Topology {
    let b = StreamsBuilder::new();
    let searches = b.stream::<String, String>("searches");
    b.stream::<String, String>("clicks")
        .left_join_windowed(
            searches,
            JoinWindows::within(std::time::Duration::from_secs(1)).after(std::time::Duration::ZERO),
            |click, search: Option<String>| format!("{click}<-{}", search.unwrap_or_default()),
        )
        .to("joined");
    b.build()
}

fn send(cluster: &MemoryCluster, topic: &str, key: &str, value: &str, timestamp: i64) {
    cluster.produce(topic, None, Some(key.into()), Some(value.into()), timestamp, Headers::new()).unwrap();
}

fn joined(cluster: &MemoryCluster) -> Vec<(String, String, i64)> {
    cluster
        .records_in_order("joined")
        .iter()
        .map(|r| {
            let text = |b: &Option<Vec<u8>>| String::from_utf8(b.clone().unwrap()).unwrap();
            (text(&r.key), text(&r.value), r.timestamp)
        })
        .collect()
}

#[test]
fn a_restarted_stream_stream_join_keeps_the_records_waiting_for_a_partner() {
    let cluster = MemoryCluster::new();
    for t in ["clicks", "searches", "joined"] {
        cluster.create_topic(t, 1).unwrap();
    }
    let run = || {
        let streams =
            KafkaStreams::new(click_search_join(), StreamsConfig::new("joins"), Arc::new(cluster.clone()));
        tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    };
    // Before the restart: a search, and a click that joins it.
    send(&cluster, "searches", "u1", "kafka", 1_000);
    send(&cluster, "clicks", "u1", "page-a", 1_500);
    run();
    assert_eq!(joined(&cluster), vec![("u1".into(), "page-a<-kafka".into(), 1_500)]);
    // After it: a click that joins the search buffered before, and one that finds none and
    // is emitted once stream time passes its window.
    send(&cluster, "clicks", "u1", "page-b", 1_900);
    send(&cluster, "clicks", "u2", "page-c", 2_000);
    send(&cluster, "clicks", "u3", "later", 5_000);
    run();
    assert_eq!(
        joined(&cluster),
        vec![
            ("u1".into(), "page-a<-kafka".into(), 1_500),
            ("u1".into(), "page-b<-kafka".into(), 1_900),
            ("u2".into(), "page-c<-".into(), 2_000),
        ]
    );
}

/// Word count whose closures panic once: before the count (`in_record`: the word "panic" in
/// its line) or after it, where the record cache's flush at commit runs them (`at_flush`:
/// the word "flush" counted).
fn word_count_that_panics_once(in_record: Arc<AtomicBool>, at_flush: Arc<AtomicBool>) -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<(), String>(wordcount::INPUT)
        .flat_map_values(move |line| {
            if line.contains("panic") && in_record.swap(false, AtomicOrdering::SeqCst) {
                panic!("a closure failed on `{line}`");
            }
            wordcount::words(&line)
        })
        .filter(|_, w| !w.is_empty() && w != "the")
        .select_key(|_, w| w.clone())
        .group_by_key()
        .count()
        .to_stream()
        .map_values(move |n| {
            // Only a cache flush forwards while the poisoned flag is set (see the test).
            if at_flush.swap(false, AtomicOrdering::SeqCst) {
                panic!("a closure failed while the cache was flushed");
            }
            n
        })
        .to(wordcount::OUTPUT);
    b.build()
}

const PANIC_LINES: [&str; 4] = ["one panic here", "two words", "flush the cache", "one more panic"];

fn run_to_end(streams: &KafkaStreams) -> Result<(), StreamsError> {
    tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained))
}

/// By default a panicking closure stops the run (Kafka's `LogAndFailProcessingExceptionHandler`
/// and `SHUTDOWN_CLIENT`): `run` returns the error naming the record, and does not hang.
#[test]
fn a_panicking_closure_stops_the_run_naming_its_record() {
    let cluster = MemoryCluster::with_auto_create(Some(2));
    cluster.create_topic(wordcount::INPUT, 2).unwrap();
    load(&cluster, &PANIC_LINES, 0);
    let topology = word_count_that_panics_once(Arc::new(AtomicBool::new(true)), Arc::default());
    let mut config = StreamsConfig::new("panic-stop");
    config.set("num.stream.threads", "2");
    let streams = KafkaStreams::new(topology, config, Arc::new(cluster.clone()));
    let err = run_to_end(&streams).unwrap_err();
    // Whichever thread reaches its line with `panic` first fails (the closure panics once).
    assert!(
        matches!(&err, StreamsError::Processing { topic, partition, offset, message }
            if topic == wordcount::INPUT
                && ((*partition, *offset, message.as_str()) == (0, 0, "a closure failed on `one panic here`")
                    || (*partition, *offset, message.as_str()) == (1, 1, "a closure failed on `one more panic`"))),
        "{err}"
    );
}

/// With `ReplaceThread`, a failed thread is replaced: its tasks are rebuilt from their
/// changelogs and go on from the committed offsets, whether the panic hit a record or a
/// cache flush.
#[test]
fn a_replaced_thread_rebuilds_its_tasks_and_loses_nothing() {
    for (tag, in_record, at_flush) in [("record", true, false), ("flush", false, true)] {
        let cluster = MemoryCluster::with_auto_create(Some(4));
        cluster.create_topic(wordcount::INPUT, 4).unwrap();
        load(&cluster, &PANIC_LINES, 0);
        let at_flush = Arc::new(AtomicBool::new(at_flush));
        let topology = word_count_that_panics_once(Arc::new(AtomicBool::new(in_record)), at_flush.clone());
        let mut config = StreamsConfig::new(&format!("panic-replace-{tag}"));
        config.set("num.stream.threads", "2");
        let mut streams = KafkaStreams::new(topology, config, Arc::new(cluster.clone()));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let errors = seen.clone();
        streams.set_uncaught_exception_handler(move |e| {
            errors.lock().unwrap().push(e.to_string());
            ThreadResponse::ReplaceThread
        });
        run_to_end(&streams).unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1, "{tag}: {seen:?}");
        match tag {
            // Whichever thread reaches a line with "panic" first fails (it panics once).
            "record" => assert!(
                seen[0].contains("a closure failed on `one panic here`")
                    || seen[0].contains("a closure failed on `one more panic`"),
                "{seen:?}"
            ),
            _ => assert!(
                seen[0].contains("panicked: a closure failed while the cache was flushed"),
                "{seen:?}"
            ),
        }
        assert_eq!(streams.replaced_threads(), 1);
        let (counts, golden) = (final_counts(&cluster, 4), golden_counts(&PANIC_LINES));
        if tag == "record" {
            // The failed thread committed up to the failing record: nothing is redone.
            assert_eq!(counts, golden, "{tag}");
        } else {
            // A panic in a commit leaves it undone: at-least-once, what the thread processed
            // since its last commit is processed again (as Kafka Streams' dirty close), and
            // nothing is lost.
            assert_eq!(counts.keys().collect::<Vec<_>>(), golden.keys().collect::<Vec<_>>());
            assert!(golden.iter().all(|(w, n)| counts[w] >= *n), "{tag}: {counts:?}");
        }
    }
}

/// `LogAndContinueProcessingExceptionHandler`: the failed record is skipped and counted; the
/// run goes on.
#[test]
fn log_and_continue_skips_the_record_whose_closure_panicked() {
    let cluster = MemoryCluster::with_auto_create(Some(1));
    cluster.create_topic(wordcount::INPUT, 1).unwrap();
    load(&cluster, &PANIC_LINES, 0);
    let topology = word_count_that_panics_once(Arc::new(AtomicBool::new(true)), Arc::default());
    let mut config = StreamsConfig::new("panic-continue");
    config.set("processing.exception.handler", "LogAndContinueProcessingExceptionHandler");
    let streams = KafkaStreams::new(topology, config, Arc::new(cluster.clone()));
    run_to_end(&streams).unwrap();
    assert_eq!(streams.skipped_records(), 1);
    assert_eq!(final_counts(&cluster, 1), golden_counts(&PANIC_LINES[1..]));
}

/// Values out of range are refused before anything is allocated for them.
#[test]
fn cli_refuses_partitions_and_threads_out_of_range() {
    for args in [["--partitions", "100000000"], ["--set", "num.stream.threads=100000000"]] {
        let (code, out) = cli(&args, true);
        assert_eq!(code, std::process::ExitCode::FAILURE, "{args:?}");
        assert!(out.is_empty());
    }
}

/// The runner on records whose timestamps are extreme: `i64::MAX` (windows end, the run
/// terminates) and negative (each `default.timestamp.extractor` as Kafka's).
#[test]
fn extreme_timestamps_terminate_and_negative_ones_follow_the_extractor() {
    let topology = || {
        let b = StreamsBuilder::new();
        b.stream::<String, i64>("events")
            .group_by_key()
            .window(TimeWindows::of(Duration::from_secs(5)).advance_by(Duration::from_secs(1)))
            .count()
            .to_stream()
            .to_with::<TimeWindowed<String>, i64>("counts");
        b.build()
    };
    let run = |extractor: Option<&str>| {
        let cluster = MemoryCluster::with_auto_create(Some(1));
        cluster.create_topic("events", 1).unwrap();
        for ts in [1_000, i64::MAX - 10, -1, i64::MAX] {
            let value = Some(1i64.to_be_bytes().to_vec());
            cluster.produce("events", None, Some(b"k".to_vec()), value, ts, Headers::new()).unwrap();
        }
        let mut config = StreamsConfig::new("extreme");
        // Every window update comes out (the counts below count them), not one per commit.
        config.set("statestore.cache.max.bytes", "0");
        if let Some(e) = extractor {
            config.set("default.timestamp.extractor", e);
        }
        let streams = KafkaStreams::new(topology(), config, Arc::new(cluster.clone()));
        let result = run_to_end(&streams);
        let windows = cluster.records_in_order("counts").len();
        (result, streams.skipped_records(), windows)
    };
    let (result, _, _) = run(None);
    let err = result.unwrap_err().to_string();
    assert!(err.contains("events-0 offset 2 has an invalid (negative) timestamp -1"), "{err}");
    let (result, skipped, windows) = run(Some("LogAndSkipOnInvalidTimestamp"));
    result.unwrap();
    assert_eq!(skipped, 1);
    // 5 windows for the first record; at the end of time only the windows that start there.
    assert!(windows >= 5, "{windows}");
    let (result, skipped, with_partition_time) = run(Some("UsePartitionTimeOnInvalidTimestamp"));
    result.unwrap();
    assert_eq!(skipped, 0);
    assert!(with_partition_time > windows, "the negative record counts at the partition time");
}

/// Kafka's `KafkaStreams.State` and its listener: a run that drains its input goes CREATED →
/// REBALANCING (tasks restoring) → RUNNING → PENDING_SHUTDOWN → NOT_RUNNING; one stopped by an
/// error ends in ERROR through PENDING_ERROR; an instance runs once.
#[test]
fn the_state_listener_sees_kafkas_transitions() {
    use streams_runtime::State::*;
    let listen = |streams: &mut KafkaStreams| {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let into = seen.clone();
        streams.set_state_listener(move |new, old| into.lock().unwrap().push((old, new)));
        seen
    };
    let cluster = MemoryCluster::with_auto_create(Some(2));
    cluster.create_topic(wordcount::INPUT, 2).unwrap();
    load(&cluster, wordcount::SAMPLE, 0);
    let mut streams =
        KafkaStreams::new(wordcount::topology(), StreamsConfig::new("states"), Arc::new(cluster.clone()));
    let seen = listen(&mut streams);
    assert_eq!(streams.state(), Created);
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Input written while it runs keeps it running long enough to be seen RUNNING.
    let input = streams.open_input();
    let feeding = {
        let cluster = cluster.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            load(&cluster, &["late lines"], 1_000);
            drop(input);
        })
    };
    rt.block_on(streams.run(RunMode::UntilDrained)).unwrap();
    feeding.join().unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            (Created, Rebalancing),
            (Rebalancing, Running),
            (Running, PendingShutdown),
            (PendingShutdown, NotRunning)
        ]
    );
    assert_eq!(streams.state(), NotRunning);
    let again = rt.block_on(streams.run(RunMode::UntilDrained)).unwrap_err().to_string();
    assert!(again.contains("NOT_RUNNING: an instance runs once"), "{again}");

    let cluster = MemoryCluster::with_auto_create(Some(2));
    cluster.create_topic(wordcount::INPUT, 2).unwrap();
    load(&cluster, &PANIC_LINES, 0);
    let topology = word_count_that_panics_once(Arc::new(AtomicBool::new(true)), Arc::default());
    let mut streams =
        KafkaStreams::new(topology, StreamsConfig::new("states-error"), Arc::new(cluster.clone()));
    let seen = listen(&mut streams);
    rt.block_on(streams.run(RunMode::UntilDrained)).unwrap_err();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.first(), Some(&(Created, Rebalancing)), "{seen:?}");
    assert_eq!(seen.last(), Some(&(PendingError, Error)), "{seen:?}");
    assert_eq!(streams.state(), Error);
}

/// `ShutdownApplication` stops every instance of the application, not only the failing one:
/// the failing instance returns its error, the other one `ApplicationShutdown` naming it.
#[test]
fn shutdown_application_stops_every_instance() {
    let cluster = MemoryCluster::with_auto_create(Some(2));
    cluster.create_topic(wordcount::INPUT, 2).unwrap();
    let config = || StreamsConfig::new("shutdown-app");
    let healthy = KafkaStreams::new(wordcount::topology(), config(), Arc::new(cluster.clone()));
    let topology = word_count_that_panics_once(Arc::new(AtomicBool::new(true)), Arc::default());
    let mut failing = KafkaStreams::new(topology, config(), Arc::new(cluster.clone()));
    failing.set_uncaught_exception_handler(|_| ThreadResponse::ShutdownApplication);
    std::thread::scope(|s| {
        let other = s.spawn(|| {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(healthy.run(RunMode::UntilShutdown))
        });
        let started = std::time::Instant::now();
        while healthy.state() != streams_runtime::State::Running {
            assert!(started.elapsed() < Duration::from_secs(30), "the healthy instance never ran");
            std::thread::sleep(Duration::from_millis(10));
        }
        load(&cluster, &PANIC_LINES, 0);
        let own = run_to_end(&failing).unwrap_err();
        assert!(matches!(own, StreamsError::Processing { .. }), "{own}");
        // The healthy instance notices within its watch interval; a bound so a miss fails
        // instead of hanging.
        let noticed = std::time::Instant::now();
        while !other.is_finished() && noticed.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(10));
        }
        if !other.is_finished() {
            healthy.shutdown();
        }
        let result = other.join().unwrap();
        assert!(
            matches!(&result, Err(StreamsError::ApplicationShutdown { reason })
                if reason.contains("a closure failed on `one")),
            "{result:?}"
        );
        assert_eq!(healthy.state(), streams_runtime::State::Error);
    });
}

/// `alerts` runs on the standard command line like the other examples; its logs carry no ANSI
/// colour codes when stderr is not a terminal, and a bad flag is refused.
#[test]
fn alerts_runs_on_the_standard_command_line_without_colour_codes_in_piped_logs() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_alerts_cli"))
            .args(args)
            .env("RUST_LOG", "info")
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert!(out.status.success());
    let (stdout, stderr) = (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap());
    let topics: Vec<&str> =
        stdout.lines().map(|l| if l.contains("\"alerts\"") { "alerts" } else { "normal" }).collect();
    assert_eq!(topics, ["normal", "alerts", "alerts", "normal", "alerts"], "{stdout}");
    assert!(stdout.contains(r#""key":"furnace","value":{"sensor":"furnace","level":"hot","celsius":612.0}"#));
    assert!(stderr.contains("state transition"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes in piped logs: {stderr:?}");
    assert_eq!(run(&["--partitions", "abc"]).status.code(), Some(2));
}

/// Input files as people write them: a BOM, an upper-case `.JSONL`, Windows line endings are
/// read; an array line, a missing key on a `String`-keyed topic and invalid UTF-8 are refused
/// naming the file and line and saying what the line should look like.
#[test]
fn cli_input_files_as_people_write_them() {
    let dir = std::env::temp_dir().join(format!("streams-cli-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |name: &str, bytes: &[u8]| {
        let file = dir.join(name);
        std::fs::write(&file, bytes).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_alerts_cli"))
            .args(["--input", &format!("sensor-readings={}", file.display())])
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap(), stderr, file.display().to_string())
    };
    let reading = r#"{"key":"oven","value":{"sensor":"oven","celsius":250.0},"timestamp":7}"#;
    let (code, stdout, stderr, _) = run("readings.JSONL", format!("\u{feff}{reading}\r\n").as_bytes());
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(r#""topic":"alerts","key":"oven""#), "{stdout}");

    let (code, stdout, stderr, file) = run("array.jsonl", format!("[{reading}]\n").as_bytes());
    assert_eq!(code, Some(1));
    assert!(stdout.is_empty());
    assert!(
        stderr.contains(&format!("{file}:1: the line is an array; a `.jsonl` line is one object: {{\"key\"")),
        "{stderr}"
    );

    let no_key = r#"{"value":{"sensor":"oven","celsius":250.0}}"#;
    let (code, _, stderr, file) = run("nokey.jsonl", format!("{reading}\n{no_key}\n").as_bytes());
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains(&format!("{file}:2: no `key`, and this topic's keys cannot be null")),
        "{stderr}"
    );

    let (code, _, stderr, file) = run("latin1.jsonl", b"{\"key\":\"caf\xe9\"}\n");
    assert_eq!(code, Some(1));
    assert!(stderr.contains(&format!("{file}:1: not UTF-8 text (an invalid byte at column 12)")), "{stderr}");
}

/// `--progress=always` reports on stderr how many records were processed and written, and how
/// many are behind the last commit; by default a piped stderr gets no progress line.
#[test]
fn cli_progress_reports_records_processed_and_written() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_alerts_cli")).args(args).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };
    let stderr = run(&["--progress=always"]);
    let last = stderr.lines().rfind(|l| l.starts_with("progress ")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        last.contains(": 5 records processed, 5 written to the sinks, 0 behind the last commit, "),
        "{stderr}"
    );
    assert!(!run(&[]).contains("progress "));
}

/// A click stream joined with a table of users, built with `topology.optimization=all`.
fn clicks_by_user_optimized() -> Topology {
    let b = StreamsBuilder::new();
    let users = b.table::<String, String>("users");
    b.stream::<String, String>("clicks")
        .left_join(users, |click, user| format!("{click} by {}", user.unwrap_or_else(|| "?".into())))
        .to("joined");
    let mut config = StreamsConfig::new("reuse");
    config.set("topology.optimization", "all");
    b.build_with(&config).unwrap()
}

#[test]
fn an_optimized_table_is_restored_from_its_source_topic_up_to_the_committed_offset() {
    let cluster = MemoryCluster::new();
    for t in ["users", "clicks", "joined"] {
        cluster.create_topic(t, 1).unwrap();
    }
    let run = || {
        let streams = KafkaStreams::new(
            clicks_by_user_optimized(),
            StreamsConfig::new("reuse"),
            Arc::new(cluster.clone()),
        );
        tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    };
    send(&cluster, "users", "u1", "alice", 1);
    send(&cluster, "clicks", "u1", "page-a", 2);
    run();
    // While the application is away: the user renamed, and a click from before that. The
    // new instance restores the table from `users` up to its committed offset only, so the
    // click (earlier) finds the name it had then, as Kafka's `StoreChangelogReader` restores a
    // source topic serving as changelog.
    send(&cluster, "users", "u1", "bob", 4);
    send(&cluster, "clicks", "u1", "page-b", 3);
    send(&cluster, "clicks", "u1", "page-c", 5);
    run();
    assert_eq!(
        joined(&cluster),
        vec![
            ("u1".into(), "page-a by alice".into(), 2),
            ("u1".into(), "page-b by alice".into(), 3),
            ("u1".into(), "page-c by bob".into(), 5),
        ]
    );
    let topics = cluster.topics();
    assert!(!topics.iter().any(|t| t.ends_with("-changelog")), "no changelog topic: {topics:?}");
    assert_eq!(cluster.records_in_order("users").len(), 2, "nothing written to the source topic");
}

#[test]
fn an_optimized_self_join_restores_its_one_store_after_a_restart() {
    let topology = || {
        let b = StreamsBuilder::new();
        let pages = b.stream::<String, String>("pages");
        pages
            .clone()
            .join_windowed(pages, JoinWindows::within(Duration::from_millis(50)), |a, c| format!("{a}+{c}"))
            .to("joined");
        b.build_optimized(Optimizations::ALL)
    };
    assert!(!topology().describe().to_string().contains("JOINOTHER"), "{}", topology().describe());
    let cluster = MemoryCluster::new();
    for t in ["pages", "joined"] {
        cluster.create_topic(t, 1).unwrap();
    }
    let run = || {
        let streams = KafkaStreams::new(topology(), StreamsConfig::new("self"), Arc::new(cluster.clone()));
        tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    };
    send(&cluster, "pages", "u1", "a", 1);
    run();
    send(&cluster, "pages", "u1", "b", 10);
    run();
    let values: Vec<(String, i64)> =
        joined(&cluster).into_iter().map(|(_, value, timestamp)| (value, timestamp)).collect();
    // `b` finds `a` in the store restored from its changelog: joined both ways, then with
    // itself (Kafka's `KStreamKStreamSelfJoin` order).
    assert_eq!(
        values,
        [("a+a".to_string(), 1), ("b+a".to_string(), 10), ("a+b".to_string(), 10), ("b+b".to_string(), 10)]
    );
    let changelogs: Vec<String> =
        cluster.topics().into_iter().filter(|t| t.ends_with("-changelog")).collect();
    assert_eq!(changelogs, ["self-KSTREAM-JOINTHIS-0000000003-store-changelog"]);
}
