//! On a real Apache Kafka broker: `scripts/kafka-broker.sh run cargo test --workspace` starts
//! one and sets `KAFKA_BOOTSTRAP`. Every test uses topics and application ids of its own.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use streams_runtime::partitioner::partition_for_key;
use streams_runtime::prelude::*;
use streams_runtime::{KafkaStreams, RunMode, StreamsConfig};
use streams_tests::instance::{wait_until, Instance};
use streams_tests::kafka::*;
use streams_tests::{free_port, golden_counts, http_get};

#[test]
fn word_count_on_four_partitions_with_two_threads_equals_the_golden_counts_and_restarts_with_its_state() {
    let (input, output, app) = (unique("wc-in"), unique("wc-out"), unique("wc-app"));
    create_topics(&[&input, &output], 4);
    let lines = text_lines(2_000);
    produce(&input, &line_records(&lines[..1_500], 1_000));
    let mut config = config(&app);
    config.set("num.stream.threads", "2").set("repartition.purge.interval.ms", "0");
    let streams = KafkaStreams::connect(wordcount_topology(&input, &output), config.clone()).unwrap();
    block_on_multi(streams.run(RunMode::UntilDrained)).unwrap();
    // Committed records of the repartition topic were deleted as the run went (Kafka
    // Streams' purge), which Kafka's own low watermarks show.
    let repartition = format!("{app}-KSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition");
    assert!(log_start(&repartition) > 0, "nothing deleted from {repartition}");
    assert_eq!(
        streams.processed_records() as usize,
        1_500 + golden_counts(&lines[..1_500]).values().sum::<i64>() as usize
    );
    let (counts, _) = final_counts(&output);
    assert_eq!(counts, golden_counts(&lines[..1_500]));
    // Every word sits in the partition a Java producer would choose for it.
    for r in read_all(&output) {
        assert_eq!(r.partition, partition_for_key(r.key.as_deref().unwrap(), 4));
    }
    // The changelog holds the counts too, and a new instance starts from it.
    let changelog = read_all(&format!("{app}-KSTREAM-AGGREGATE-STATE-STORE-0000000004-changelog"));
    assert!(!changelog.is_empty());
    produce(&input, &line_records(&lines[1_500..], 10_000));
    config.set("metrics.recording.level", "DEBUG");
    let again = Arc::new(KafkaStreams::connect(wordcount_topology(&input, &output), config).unwrap());
    // Its tasks' metrics while it runs: the state updater counts what it restores.
    let restored = std::sync::Mutex::new(0.0f64);
    // And the consumers' lag, from librdkafka's statistics (once a second): the run is held
    // open (as by a producer still writing) until the first sample, else a quick run may end
    // before the statistics' first report.
    let lag_seen = std::sync::Mutex::new(Vec::new());
    let mut holding = Some(again.open_input());
    let held_since = Instant::now();
    std::thread::scope(|scope| {
        let running = scope.spawn(|| block_on_multi(again.run(RunMode::UntilDrained)));
        while !running.is_finished() {
            if !lag_seen.lock().unwrap().is_empty() || held_since.elapsed() > Duration::from_secs(60) {
                drop(holding.take());
            }
            let sum: f64 = again
                .metrics()
                .iter()
                .filter(|m| m.name.group == "stream-task-metrics" && m.name.name == "restore-total")
                .filter_map(|m| m.value.number())
                .sum();
            let mut max = restored.lock().unwrap();
            *max = max.max(sum);
            drop(max);
            lag_seen.lock().unwrap().extend(
                again
                    .metrics()
                    .iter()
                    .filter(|m| m.name.name == "records-lag-max")
                    .filter_map(|m| m.value.number())
                    .filter(|v| !v.is_nan()),
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        running.join().unwrap().unwrap();
    });
    assert_eq!(final_counts(&output).0, golden_counts(&lines));
    assert_eq!(
        *restored.lock().unwrap(),
        changelog.len() as f64,
        "records restored, as the tasks' metrics count them"
    );
    let lag_seen = lag_seen.into_inner().unwrap();
    assert!(!lag_seen.is_empty(), "no records-lag-max sampled");
    // At most every record of a partition (input lines or repartitioned words) not fetched.
    let records = (lines.len() as i64 + golden_counts(&lines).values().sum::<i64>()) as f64;
    assert!(lag_seen.iter().all(|v| (0.0..=records).contains(v)), "{lag_seen:?}");
}

#[test]
fn two_instances_split_the_partitions_and_a_stopped_one_hands_its_tasks_over_with_their_state() {
    let (input, output, app) = (unique("wc2-in"), unique("wc2-out"), unique("wc2-app"));
    create_topics(&[&input, &output], 4);
    let a = Instance::start(&app, &input, &output, &[]);
    let b = Instance::start(&app, &input, &output, &[]);
    let assigned = "assignment taken";
    wait_until("both instances have tasks", Duration::from_secs(120), || {
        a.logged(assigned) && b.logged(assigned) && !a.logged("tasks=0") && !b.logged("tasks=0")
    });
    let lines = text_lines(4_000);
    produce(&input, &line_records(&lines[..2_000], 1_000));
    wait_until("the first half is counted", Duration::from_secs(120), || {
        final_counts(&output).0 == golden_counts(&lines[..2_000])
    });
    // B stops mid-run: its tasks move to A, which restores them from their changelogs.
    let by_b = b.terminate();
    assert!(by_b > 0, "the second instance processed nothing: the partitions were not split");
    produce(&input, &line_records(&lines[2_000..], 10_000));
    wait_until("everything is counted", Duration::from_secs(120), || {
        final_counts(&output).0 == golden_counts(&lines)
    });
    assert!(a.logged("restored from changelog"), "the moved tasks were not restored");
    // The application's state (Kafka's names): running, rebalancing when B left, running again.
    let transitions: Vec<String> = a
        .log
        .lock()
        .unwrap()
        .iter()
        .filter_map(|l| l.split("state transition ").nth(1).map(str::to_string))
        .collect();
    assert!(
        transitions.windows(2).any(|w| w == ["from=RUNNING to=REBALANCING", "from=REBALANCING to=RUNNING"]),
        "{transitions:?}"
    );
    let by_a = a.terminate();
    let (counts, records) = final_counts(&output);
    assert_eq!(counts, golden_counts(&lines));
    eprintln!("instance A processed {by_a}, instance B {by_b}; {records} output records");
}

/// Two instances count 20,000 lines; one is killed (SIGKILL) while it works. Returns how
/// many words were counted more than once (the survivor's counts are never below golden).
fn kill_one_of_two(tag: &str, settings: &[&str]) -> i64 {
    let (input, output, app) =
        (unique(&format!("{tag}-in")), unique(&format!("{tag}-out")), unique(&format!("{tag}-app")));
    create_topics(&[&input, &output], 4);
    let a = Instance::start(&app, &input, &output, settings);
    let mut b = Instance::start(&app, &input, &output, settings);
    wait_until("both instances have tasks", Duration::from_secs(120), || {
        a.logged("assignment taken") && b.logged("assignment taken") && !b.logged("tasks=0")
    });
    let lines = text_lines(20_000);
    produce(&input, &line_records(&lines, 1_000));
    // Killed while it works: whatever it did since its last commit is redone by A.
    wait_until("B processes", Duration::from_secs(120), || !final_counts(&output).0.is_empty());
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    let golden = golden_counts(&lines);
    let started = Instant::now();
    while !golden.iter().all(|(w, n)| final_counts(&output).0.get(w).is_some_and(|c| c >= n)) {
        if started.elapsed() > Duration::from_secs(120) {
            let log = a.log.lock().unwrap();
            let notable: Vec<&String> =
                log.iter().filter(|l| !l.contains("INFO") || l.contains("assign")).collect();
            let counts = final_counts(&output).0;
            let short: Vec<_> =
                golden.iter().filter(|(w, n)| counts.get(*w).is_none_or(|c| c < *n)).take(5).collect();
            panic!(
                "A did not count everything in 120 s; short: {short:?}; {counts:?}\nA's log: {notable:#?}"
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    a.terminate();
    let counts = final_counts(&output).0;
    let extra: i64 = counts.values().sum::<i64>() - golden.values().sum::<i64>();
    eprintln!("{tag}: killed instance: {extra} words counted twice out of {}", golden.values().sum::<i64>());
    extra
}

#[test]
fn at_least_once_a_killed_instance_loses_nothing_and_the_duplicates_are_counted() {
    assert!(kill_one_of_two("alos", &[]) >= 0);
}

#[test]
fn exactly_once_a_killed_instance_loses_nothing_and_counts_nothing_twice() {
    assert_eq!(kill_one_of_two("eos", &["processing.guarantee=exactly_once_v2"]), 0);
}

#[test]
fn a_missing_source_topic_is_an_error_naming_it() {
    let (missing, output) = (unique("absent"), unique("absent-out"));
    create_topics(&[&output], 1);
    let streams =
        KafkaStreams::connect(wordcount_topology(&missing, &output), config(&unique("absent-app"))).unwrap();
    let error = block_on_multi(streams.run(RunMode::UntilDrained)).unwrap_err().to_string();
    assert_eq!(error, format!("source topic `{missing}` does not exist; create it first"));
}

#[test]
fn the_reset_tool_makes_the_next_run_start_from_scratch() {
    let (input, output, app) = (unique("reset-in"), unique("reset-out"), unique("reset-app"));
    create_topics(&[&input, &output], 2);
    let lines = text_lines(300);
    produce(&input, &line_records(&lines, 1_000));
    let run = || {
        let streams = KafkaStreams::connect(wordcount_topology(&input, &output), config(&app)).unwrap();
        block_on_multi(streams.run(RunMode::UntilDrained)).unwrap();
        streams
    };
    run();
    let (counts, first_records) = final_counts(&output);
    assert_eq!(counts, golden_counts(&lines));
    let reset = KafkaStreams::connect(wordcount_topology(&input, &output), config(&app)).unwrap();
    block_on(reset.reset()).unwrap();
    assert!(!clients().topics().unwrap().keys().any(|t| t.starts_with(&app)), "internal topics remain");
    // Offsets and state gone: the input is counted again from zero, not added to the old counts.
    let again = run();
    assert_eq!(
        again.processed_records() as usize,
        lines.len() + golden_counts(&lines).values().sum::<i64>() as usize
    );
    let (counts, records) = final_counts(&output);
    assert_eq!(counts, golden_counts(&lines));
    assert!(records > first_records, "the second run wrote nothing");
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reading {
    value: i64,
}

fn doubling(input: &str, output: &str) -> streams_runtime::Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, Json<Reading>>(input).map_values(|r| r.value * 2).to(output);
    b.build()
}

/// Nine readings with a record that is not JSON at offset 5, all on partition 0.
fn corrupt_input(input: &str) {
    let mut records = Vec::new();
    for i in 0..10i64 {
        let value = if i == 5 { b"{not json".to_vec() } else { format!("{{\"value\":{i}}}").into_bytes() };
        records.push((Some(b"k".to_vec()), Some(value), 1_000 + i));
    }
    produce(input, &records);
}

fn outputs(topic: &str) -> Vec<i64> {
    read_all(topic).iter().map(|r| i64::from_be_bytes(r.value.clone().unwrap().try_into().unwrap())).collect()
}

fn committed(app: &str, topic: &str) -> Option<i64> {
    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", bootstrap()).set("group.id", app).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    let c = consumer.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
    match c.find_partition(topic, 0).unwrap().offset() {
        Offset::Offset(o) => Some(o),
        _ => None,
    }
}

fn corrupt_run(
    policy: &[(&str, &str)],
) -> (String, String, String, KafkaStreams, Result<(), streams_runtime::StreamsError>) {
    let (input, output, app) = (unique("bad-in"), unique("bad-out"), unique("bad-app"));
    create_topics(&[&input, &output], 1);
    corrupt_input(&input);
    let mut config: StreamsConfig = config(&app);
    for (k, v) in policy {
        config.set(k, *v);
    }
    let streams = KafkaStreams::connect(doubling(&input, &output), config).unwrap();
    let result = block_on_multi(streams.run(RunMode::UntilDrained));
    (input, output, app, streams, result)
}

#[test]
fn a_corrupt_record_stops_the_run_naming_it_and_nothing_past_it_is_committed() {
    let (input, output, app, _, result) = corrupt_run(&[]);
    let error = result.unwrap_err().to_string();
    assert!(error.contains(&format!("{input}-0 offset 5")), "{error}");
    assert_eq!(committed(&app, &input), Some(5));
    assert_eq!(outputs(&output), vec![0, 2, 4, 6, 8]);
}

#[test]
fn a_corrupt_record_is_skipped_and_counted() {
    let (_, output, _, streams, result) =
        corrupt_run(&[("deserialization.exception.handler", "LogAndContinueExceptionHandler")]);
    result.unwrap();
    assert_eq!(streams.skipped_records(), 1);
    assert_eq!(outputs(&output), vec![0, 2, 4, 6, 8, 12, 14, 16, 18]);
}

#[test]
fn a_corrupt_record_goes_to_the_dead_letter_topic_with_where_it_came_from() {
    let dlq = unique("bad-dlq");
    create_topics(&[&dlq], 1);
    let (input, output, _, streams, result) = corrupt_run(&[("errors.dead.letter.queue.topic.name", &dlq)]);
    result.unwrap();
    assert_eq!(streams.skipped_records(), 1);
    assert_eq!(outputs(&output), vec![0, 2, 4, 6, 8, 12, 14, 16, 18]);
    let dead = read_all(&dlq);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].value.as_deref(), Some(&b"{not json"[..]));
    assert_eq!(dead[0].headers.last("__streams.errors.topic"), Some(Some(input.as_bytes())));
    assert_eq!(dead[0].headers.last("__streams.errors.offset"), Some(Some(&b"5"[..])));
}

/// Runs an example's command line on the embedded cluster and on Kafka, both on its demo
/// data, and returns their outputs as sorted JSON lines.
fn example_both_ways(
    application_id: &'static str,
    topology: fn() -> streams_runtime::Topology,
    demo: fn(&streams_runtime::cli::Demo),
    topics: &[&str],
) -> (Vec<String>, Vec<String>) {
    // A clean slate, as a user would make it with the reset tool and by deleting the
    // example's topics.
    let cli = |args: &[&str]| {
        let mut all = vec![application_id.to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        // On its own thread, so that a run that never ends fails the test instead of hanging it.
        let (done, result) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let code =
                streams_runtime::cli::run_with_args_to(application_id, topology(), demo, all, &mut out);
            let _ = done.send((code, out));
        });
        let (code, out) = result
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("{application_id} {args:?} did not finish in 120 s"));
        assert_eq!(code, std::process::ExitCode::SUCCESS, "{application_id} {args:?}");
        let mut lines: Vec<String> = String::from_utf8(out).unwrap().lines().map(String::from).collect();
        lines.sort();
        lines
    };
    let b = bootstrap();
    cli(&["--bootstrap-servers", &b, "--reset"]);
    let names: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
    block_on(clients().delete_topics(&names)).unwrap();
    wait_until("the example's topics are gone", Duration::from_secs(120), || {
        let existing = clients().topics().unwrap();
        names.iter().all(|t| !existing.contains_key(t))
    });
    // The broker removes a deleted topic's logs after it leaves the metadata; a topic of the
    // same name created before that can answer fetches with "offset out of range".
    std::thread::sleep(Duration::from_secs(2));
    // One partition: with more, the order in which upstream tasks fill a repartition topic
    // depends on timing (on Kafka as in Kafka Streams), and so do windows closed by it.
    let embedded = cli(&["--partitions", "1"]);
    let on_kafka = cli(&["--bootstrap-servers", &b, "--partitions", "1", "--until-drained"]);
    (embedded, on_kafka)
}

/// An example's application id, topology, demo data and topics.
type Example<'a> =
    (&'a str, fn() -> streams_runtime::Topology, fn(&streams_runtime::cli::Demo), Vec<&'a str>);

#[test]
fn the_examples_write_the_same_output_through_kafka() {
    use examples::{clickstream, dedupe, stockstats, wordcount};
    let cases: [Example; 4] = [
        ("wordcount", wordcount::topology, wordcount::demo, vec![wordcount::INPUT, wordcount::OUTPUT]),
        (
            "stockstats",
            stockstats::topology,
            stockstats::demo,
            vec![stockstats::INPUT, stockstats::STATS, stockstats::TOP3],
        ),
        (
            "clickstream",
            clickstream::topology,
            clickstream::demo,
            vec![clickstream::VIEWS, clickstream::SEARCHES, clickstream::PROFILES, clickstream::ACTIVITY],
        ),
        // The Processor API: a store and a wall-clock punctuator, on both runners.
        ("dedupe", dedupe::topology, dedupe::demo, vec![dedupe::INPUT, dedupe::OUTPUT]),
    ];
    let mut sizes = BTreeMap::new();
    for (app, topology, demo, topics) in cases {
        let (embedded, on_kafka) = example_both_ways(app, topology, demo, &topics);
        assert!(!embedded.is_empty(), "{app}: no output");
        assert_eq!(on_kafka, embedded, "{app}: Kafka's output differs from the embedded cluster's");
        sizes.insert(app, embedded.len());
    }
    eprintln!("output records through Kafka: {sizes:?}");
}

#[test]
fn a_global_table_is_bootstrapped_and_kept_up_to_date_on_kafka() {
    let (countries, orders, shipments) = (unique("countries"), unique("orders"), unique("shipments"));
    create_topics(&[&countries, &shipments], 1);
    create_topics(&[&orders], 2);
    let b = StreamsBuilder::new();
    let table = b.global_table::<String, String>(&countries);
    b.stream::<String, String>(&orders)
        .join_global(table, |_order, country| country.clone(), |order, name| format!("{order} to {name}"))
        .to(&shipments);
    let record = |k: &str, v: &str, ts: i64| (Some(k.as_bytes().to_vec()), Some(v.as_bytes().to_vec()), ts);
    // The order comes first in time; the table is still read before it is processed.
    produce(&orders, &[record("o1", "jp", 1)]);
    produce(&countries, &[record("jp", "Japan", 100)]);
    let streams = Arc::new(KafkaStreams::connect(b.build(), config(&unique("global-app"))).unwrap());
    let input = streams.open_input();
    let running = {
        let streams = streams.clone();
        std::thread::spawn(move || block_on_multi(streams.run(RunMode::UntilDrained)))
    };
    wait_until("the first shipment", Duration::from_secs(120), || read_all(&shipments).len() == 1);
    produce(&countries, &[record("jp", "Nippon", 200)]);
    wait_until("the global store to change", Duration::from_secs(120), || {
        streams
            .key_value_store::<String, String>(&format!("{countries}-STATE-STORE-0000000000"))
            .unwrap_or_default()
            .contains(&("jp".into(), "Nippon".into()))
    });
    produce(&orders, &[record("o2", "jp", 300)]);
    drop(input);
    running.join().unwrap().unwrap();
    let out: Vec<Vec<u8>> = read_all(&shipments).into_iter().filter_map(|r| r.value).collect();
    assert_eq!(out, vec![b"jp to Japan".to_vec(), b"jp to Nippon".to_vec()]);
}

/// Kafka Streams' state updater: a task whose changelog holds an open transaction (a failed
/// owner's, until it is fenced or times out) waits to restore while the instance's other
/// tasks go on; a transaction open for over a minute is called hanging, with the command that
/// ends it; once it is aborted, the task restores and counts what it missed.
#[test]
fn a_task_waiting_to_restore_does_not_hold_up_the_others() {
    let (input, output, app) = (unique("updater-in"), unique("updater-out"), unique("updater-app"));
    create_topics(&[&input, &output], 4);
    let eos = &["processing.guarantee=exactly_once_v2"];
    let lines = text_lines(2_000);
    let (first, second) = lines.split_at(1_000);
    let a = Instance::start(&app, &input, &output, eos);
    produce(&input, &line_records(first, 1_000));
    wait_until("the first half is counted", Duration::from_secs(120), || {
        final_committed_counts(&output).0 == golden_counts(first)
    });
    a.terminate();
    // A transaction left open on partition 0 of the count's changelog.
    let changelog = clients()
        .topics()
        .unwrap()
        .into_keys()
        .find(|t| t.starts_with(&app) && t.ends_with("-changelog"))
        .expect("the count's changelog");
    let mut c = config("test-open-transaction");
    c.set("producer.transaction.timeout.ms", "300000");
    let open = streams_runtime::cluster::kafka::KafkaClients::new(&c)
        .unwrap()
        .transactional_producer("test-open-transaction", &unique("open-transaction"))
        .unwrap();
    open.send(&changelog, Some(0), Some(b"junk"), Some(b"junk"), 0, &Headers::new()).unwrap();
    open.flush().unwrap();
    let b = Instance::start(&app, &input, &output, eos);
    produce(&input, &line_records(second, 10_000));
    // Output of the second half, by partition (the first half's timestamps are below 10,000).
    let newer = |p: u32| read_committed(&output).iter().any(|r| r.partition == p && r.timestamp >= 10_000);
    wait_until("the other tasks count the second half", Duration::from_secs(120), || (1..4).all(newer));
    assert!(!newer(0), "partition 0 was counted before its changelog could be restored");
    assert!(b.logged("restoring=1"), "the waiting task was not left to the state updater");
    // Open for a minute, six times the application's `transaction.timeout.ms`: the instance
    // calls it hanging and says how to end it; the operator's remedy (Kafka's
    // `kafka-transactions.sh find-hanging` and `abort`) ends it.
    wait_until("the transaction is called hanging", Duration::from_secs(120), || {
        b.logged("a hanging transaction")
    });
    let said = b.log.lock().unwrap().iter().find(|l| l.contains("a hanging transaction")).cloned().unwrap();
    let command = format!("abort --topic {changelog} --partition 0 --start-offset ");
    let start_offset: u64 = said
        .split(&command)
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `{command}N` in {said}"));
    abort_transaction(&bootstrap(), &changelog, 0, start_offset);
    wait_until("everything is counted", Duration::from_secs(120), || {
        final_committed_counts(&output).0 == golden_counts(&lines)
    });
    b.terminate();
    drop(open);
}

/// `ShutdownApplication` on Kafka: an instance whose closure panics asks the whole
/// application to stop; the other instance, healthy, stops too and says why.
#[test]
fn shutdown_application_stops_the_other_instance_too() {
    let (input, output, app) = (unique("stopall-in"), unique("stopall-out"), unique("stopall-app"));
    create_topics(&[&input, &output], 4);
    let topology = |fail: bool| {
        let b = StreamsBuilder::new();
        b.stream::<String, Json<Reading>>(&input)
            .map_values(move |r| {
                assert!(!fail, "poisoned reading {}", r.value);
                r.value * 2
            })
            .to(&output);
        b.build()
    };
    let start = |fail: bool| {
        let mut streams = KafkaStreams::connect(topology(fail), config(&app)).unwrap();
        streams.set_uncaught_exception_handler(|_| streams_runtime::ThreadResponse::ShutdownApplication);
        streams
    };
    let (healthy, failing) = (start(false), start(true));
    let running = |s: &KafkaStreams| s.state() == streams_runtime::State::Running;
    std::thread::scope(|s| {
        let healthy_run = s.spawn(|| block_on_multi(healthy.run(RunMode::UntilShutdown)));
        wait_until("the healthy instance runs", Duration::from_secs(120), || running(&healthy));
        let failing_run = s.spawn(|| block_on_multi(failing.run(RunMode::UntilShutdown)));
        wait_until("the partitions are split", Duration::from_secs(120), || {
            running(&healthy) && running(&failing)
        });
        let records: Vec<_> = (0..40i64)
            .map(|i| (Some(format!("k{i}").into_bytes()), Some(format!("{{\"value\":{i}}}").into_bytes()), i))
            .collect();
        produce(&input, &records);
        let stopped = |h: &std::thread::ScopedJoinHandle<'_, _>| h.is_finished();
        let waited = Instant::now();
        while !(stopped(&healthy_run) && stopped(&failing_run)) && waited.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        for streams in [&healthy, &failing] {
            streams.shutdown();
        }
        let own = failing_run.join().unwrap().unwrap_err();
        assert!(own.to_string().contains("poisoned reading"), "{own}");
        let other = healthy_run.join().unwrap();
        assert!(
            matches!(&other, Err(streams_runtime::StreamsError::ApplicationShutdown { reason })
                if reason.contains("poisoned reading")),
            "{other:?}"
        );
    });
}

/// The command line on Kafka writes its demo data into empty source topics only: a second run
/// counts nothing twice, and a run after `--reset` counts the demo again from zero (the counts
/// of one demo, not of two or three).
#[test]
fn the_command_line_writes_the_demo_once_and_a_reset_run_counts_it_again() {
    let (input, output, app) = (unique("demo-in"), unique("demo-out"), unique("demo-app"));
    let lines = text_lines(60);
    let cli = |args: &[&str]| {
        let (input, output, app, lines) = (input.clone(), output.clone(), app.clone(), lines.clone());
        let mut argv = vec![app.clone(), "--bootstrap-servers".to_string(), bootstrap()];
        argv.extend(args.iter().map(|a| a.to_string()));
        let (done, result) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let demo = |d: &streams_runtime::cli::Demo| {
                for (i, line) in lines.iter().enumerate() {
                    d.send::<(), String>(&input, (), line.clone(), 1_000 + i as i64);
                }
            };
            let topology = wordcount_topology(&input, &output);
            let code = streams_runtime::cli::run_with_args_to(&app, topology, demo, argv, &mut Vec::new());
            let _ = done.send(code);
        });
        let code = result.recv_timeout(Duration::from_secs(120)).expect("the command line finished in 120 s");
        assert_eq!(code, std::process::ExitCode::SUCCESS, "{args:?}");
    };
    let run = ["--partitions", "2", "--until-drained"];
    cli(&run);
    let (counts, first) = final_counts(&output);
    assert_eq!(counts, golden_counts(&lines));
    cli(&run);
    assert_eq!(final_counts(&output), (golden_counts(&lines), first), "the second run wrote the demo again");
    cli(&["--reset"]);
    cli(&run);
    let (counts, records) = final_counts(&output);
    assert_eq!(counts, golden_counts(&lines), "after --reset the demo is counted from zero, once");
    assert!(records > first, "the run after the reset wrote nothing");
}

/// Two instances on the broker, each with its HTTP endpoint: either answers any word's count,
/// the other's keys by a redirect to the instance that owns them, which the client follows.
#[test]
fn interactive_queries_answer_any_key_from_either_instance_over_http() {
    interactive_queries_over_http(None);
}

/// The same under the consumer group protocol of KIP-848, whose groups librdkafka does not
/// describe: the owners come from `ConsumerGroupDescribe`, spoken by the runtime itself.
#[test]
fn interactive_queries_answer_any_key_under_the_consumer_group_protocol() {
    interactive_queries_over_http(Some("consumer"));
}

fn interactive_queries_over_http(group_protocol: Option<&str>) {
    let (input, output, app) = (unique("iq-in"), unique("iq-out"), unique("iq-app"));
    create_topics(&[&input, &output], 4);
    let store = "KSTREAM-AGGREGATE-STATE-STORE-0000000004";
    let servers = [format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port())];
    let instances: Vec<KafkaStreams> = servers
        .iter()
        .map(|server| {
            let mut config = config(&app);
            config.set("application.server", server.as_str());
            if let Some(protocol) = group_protocol {
                config.set("consumer.group.protocol", protocol);
            }
            KafkaStreams::connect(wordcount_topology(&input, &output), config).unwrap()
        })
        .collect();
    let endpoints: Vec<_> =
        instances.iter().zip(&servers).map(|(s, server)| s.serve_queries(server).unwrap()).collect();
    let lines = text_lines(400);
    let golden = golden_counts(&lines);
    /// Stops the instances however the scope ends: a failed assertion must not leave the
    /// scope waiting for runs nobody stops.
    struct StopOnDrop<'a>(&'a [KafkaStreams]);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.iter().for_each(KafkaStreams::shutdown);
        }
    }
    std::thread::scope(|s| {
        let runs: Vec<_> = instances
            .iter()
            .map(|i| s.spawn(move || block_on_multi(i.run(RunMode::UntilShutdown))))
            .collect();
        let _stop = StopOnDrop(&instances);
        wait_until("the store is split over both instances", Duration::from_secs(120), || {
            instances.iter().all(|i| i.state() == streams_runtime::State::Running)
                && instances[0].streams_metadata_for_store(store).len() == 2
        });
        produce(&input, &line_records(&lines, 1_000));
        wait_until("everything is counted", Duration::from_secs(120), || final_counts(&output).0 == golden);

        let hosts: Vec<String> = instances[0]
            .streams_metadata_for_store(store)
            .iter()
            .map(|m| m.host.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(hosts.iter().collect::<std::collections::BTreeSet<_>>(), servers.iter().collect());
        let (mut local, mut redirected) = (0, 0);
        for (word, count) in golden.iter().take(40) {
            let meta = instances[0].query_metadata_for_key::<String>(store, word).unwrap();
            // Both instances agree where the key lives; it is local to exactly one of them.
            let other = instances[1].query_metadata_for_key::<String>(store, word).unwrap();
            assert_eq!((&meta.active_host, meta.partition), (&other.active_host, other.partition));
            assert_ne!(meta.local, other.local, "{word}: {meta:?} {other:?}");
            let path = format!("/stores/{store}/keys/{word}");
            let (status, location, body) = http_get(&servers[0], &path);
            let body = match status {
                200 => {
                    local += 1;
                    assert!(meta.local);
                    body
                }
                307 => {
                    redirected += 1;
                    let location = location.unwrap();
                    assert_eq!(location, format!("http://{}{path}", servers[1]));
                    let (status, _, body) = http_get(&servers[1], &path);
                    assert_eq!(status, 200, "{body}");
                    body
                }
                other => panic!("{word}: status {other}: {body}"),
            };
            assert_eq!(body, serde_json::json!({"key": word, "value": count}), "{word}");
        }
        assert!(local > 0 && redirected > 0, "{local} answered locally, {redirected} redirected");
        for i in &instances {
            i.shutdown();
        }
        for r in runs {
            r.join().unwrap().unwrap();
        }
    });
    drop(endpoints);
}

#[test]
fn internal_topics_are_created_with_kafka_streams_configs() {
    use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
    let (input, output, app) = (unique("cfg-in"), unique("cfg-out"), unique("cfg-app"));
    create_topics(&[&input, &output], 2);
    let topology = || {
        let b = StreamsBuilder::new();
        let words = b.stream::<String, String>(&input).select_key(|_, v| v.clone()).share();
        words.clone().group_by_key().count().to_stream().to(&format!("{output}-totals"));
        words
            .group_by_key()
            .window(TimeWindows::of(Duration::from_secs(60)).grace(Duration::from_secs(5)))
            .count()
            .to_stream()
            .to(&output);
        b.build()
    };
    produce(&input, &[(None, Some(b"a".to_vec()), 1_000)]);
    create_topics(&[&format!("{output}-totals")], 2);
    let mut config = config(&app);
    config.set("windowstore.changelog.additional.retention.ms", "1000");
    let streams = KafkaStreams::connect(topology(), config).unwrap();
    block_on_multi(streams.run(RunMode::UntilDrained)).unwrap();
    let admin: AdminClient<_> = ClientConfig::new().set("bootstrap.servers", bootstrap()).create().unwrap();
    // What Kafka Streams would create (the differential test holds these to Kafka's own
    // `InternalTopicConfig`s), with the additional retention set above instead of a day.
    let expected = topology().internal_topic_configs(&app);
    assert_eq!(expected.len(), 4, "two repartition topics, two changelogs: {expected:?}");
    for (topic, mut configs) in expected {
        if let Some(retention) = configs.get_mut("retention.ms").filter(|r| *r != "-1") {
            *retention = (retention.parse::<i64>().unwrap() - 86_400_000 + 1_000).to_string();
        }
        let described =
            block_on(admin.describe_configs(&[ResourceSpecifier::Topic(&topic)], &AdminOptions::new()))
                .unwrap()
                .pop()
                .unwrap()
                .unwrap_or_else(|e| panic!("{topic}: {e}"));
        for (key, value) in configs {
            let on_broker = described.get(&key).and_then(|e| e.value.clone());
            assert_eq!(on_broker.as_deref(), Some(value.as_str()), "{topic}: {key}");
        }
    }
}

/// `topology.optimization=all` on Kafka: a table restored from its source topic up to the
/// committed offset (not to its end), with no changelog topic, under both guarantees.
#[test]
fn an_optimized_table_is_restored_from_its_source_topic_on_kafka() {
    for guarantee in ["at_least_once", "exactly_once_v2"] {
        let (users, clicks, joined, app) =
            (unique("users"), unique("clicks"), unique("joined"), unique("reuse-app"));
        create_topics(&[&users, &clicks, &joined], 1);
        let run = || {
            let b = StreamsBuilder::new();
            let table = b.table::<String, String>(&users);
            b.stream::<String, String>(&clicks)
                .left_join(table, |click, user| format!("{click} by {}", user.unwrap_or_else(|| "?".into())))
                .to(&joined);
            let mut config = config(&app);
            config.set("topology.optimization", "all").set("processing.guarantee", guarantee);
            let topology = b.build_with(&config).unwrap();
            let streams = KafkaStreams::connect(topology, config).unwrap();
            block_on_multi(streams.run(RunMode::UntilDrained)).unwrap();
        };
        let record =
            |k: &str, v: &str, ts: i64| (Some(k.as_bytes().to_vec()), Some(v.as_bytes().to_vec()), ts);
        produce(&users, &[record("u1", "alice", 1)]);
        produce(&clicks, &[record("u1", "page-a", 2)]);
        run();
        // While the application is away: a rename, a click from before it, one after.
        produce(&users, &[record("u1", "bob", 4)]);
        produce(&clicks, &[record("u1", "page-b", 3), record("u1", "page-c", 5)]);
        run();
        let values: Vec<String> =
            read_all(&joined).iter().map(|r| String::from_utf8(r.value.clone().unwrap()).unwrap()).collect();
        assert_eq!(values, ["page-a by alice", "page-b by alice", "page-c by bob"], "{guarantee}");
        let changelog = format!("{app}-{users}-STATE-STORE-0000000000-changelog");
        assert!(
            !clients().topics().unwrap().contains_key(&changelog),
            "{guarantee}: {changelog} was created"
        );
        assert_eq!(committed(&app, &users), Some(2), "{guarantee}");
    }
}

/// Persistent stores on Kafka (`default.dsl.store = rocksDB`): a clean restart reads nothing
/// from the changelogs, under both guarantees (exactly-once: from the checkpoint a clean
/// close writes).
#[test]
fn a_persistent_store_restarts_from_its_checkpoint_on_kafka() {
    for guarantee in ["at_least_once", "exactly_once_v2"] {
        let (input, output, app) = (unique("disk-in"), unique("disk-out"), unique("disk-app"));
        create_topics(&[&input, &output], 2);
        let dir = std::env::temp_dir().join(unique("state-dir"));
        let lines = text_lines(600);
        let mut config = config(&app);
        config
            .set("processing.guarantee", guarantee)
            .set("default.dsl.store", "rocksDB")
            .set("state.dir", dir.to_str().unwrap())
            .set("metrics.recording.level", "DEBUG");
        let checkpoints = || -> Vec<String> {
            (0..2)
                .filter_map(|p| {
                    std::fs::read_to_string(dir.join(&app).join(format!("1_{p}/.checkpoint"))).ok()
                })
                .collect()
        };
        produce(&input, &line_records(&lines[..400], 1_000));
        let streams = KafkaStreams::connect(wordcount_topology(&input, &output), config.clone()).unwrap();
        block_on_multi(streams.run(RunMode::UntilDrained)).unwrap();
        assert_eq!(final_counts(&output).0, golden_counts(&lines[..400]), "{guarantee}");
        drop(streams);
        let changelog = format!("{app}-KSTREAM-AGGREGATE-STATE-STORE-0000000004-changelog");
        assert!(!read_all(&changelog).is_empty(), "{guarantee}: {changelog}");
        let written = checkpoints();
        assert_eq!(written.len(), 2, "{guarantee}: one checkpoint per count task");
        for text in &written {
            assert!(text.starts_with(&format!("0\n1\n{changelog} ")), "{guarantee}: {text}");
        }
        produce(&input, &line_records(&lines[400..], 10_000));
        let again = Arc::new(KafkaStreams::connect(wordcount_topology(&input, &output), config).unwrap());
        let running = streams_tests::run_in_background(&again, RunMode::UntilDrained);
        // What the tasks restored, read while they run (the metric goes with them).
        let (mut restored, mut seen) = (0.0f64, 0);
        while !running.is_finished() {
            let metrics = again.metrics();
            let totals: Vec<f64> = metrics
                .iter()
                .filter(|m| m.name.group == "stream-task-metrics" && m.name.name == "restore-total")
                .filter_map(|m| m.value.number())
                .collect();
            seen = seen.max(totals.len());
            restored = restored.max(totals.iter().sum());
            std::thread::sleep(Duration::from_millis(5));
        }
        running.join().unwrap().unwrap();
        assert_eq!(seen, 4, "{guarantee}: every task's restore-total was read");
        assert_eq!(restored, 0.0, "{guarantee}: a clean restart restores nothing");
        let (counts, _) = final_counts(&output);
        assert_eq!(counts, golden_counts(&lines), "{guarantee}");
        assert_eq!(checkpoints().len(), 2, "{guarantee}: written again at the clean stop");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The offsets a task commits carry Kafka Streams' `TopicPartitionMetadata` (partition time,
/// the emit-on-close aggregations' progress), so a restarted application on the broker
/// does not emit a window twice, under both guarantees.
#[test]
fn windows_emitted_on_close_are_not_emitted_again_after_a_restart_on_kafka() {
    for guarantee in ["at_least_once", "exactly_once_v2"] {
        let (events, counts, app) = (unique("eoc-in"), unique("eoc-out"), unique("eoc-app"));
        create_topics(&[&events, &counts], 1);
        let run = || {
            let b = StreamsBuilder::new();
            b.stream::<String, i64>(&events)
                .group_by_key()
                .window(TimeWindows::of(Duration::from_secs(5)).grace(Duration::from_secs(1)))
                .emit_on_close()
                .count()
                .to_stream()
                .to(&counts);
            let mut config = config(&app);
            config.set("processing.guarantee", guarantee);
            let streams = KafkaStreams::connect(b.build(), config).unwrap();
            block_on_multi(streams.run(RunMode::UntilDrained)).unwrap();
        };
        let event = |k: &str, ts: i64| (Some(k.as_bytes().to_vec()), Some(1i64.to_be_bytes().to_vec()), ts);
        produce(&events, &[event("a", 1_000), event("b", 2_000), event("a", 3_000), event("b", 6_000)]);
        run();
        // Magic byte 2, then the partition time (6000) in what the group committed.
        let consumer: BaseConsumer =
            ClientConfig::new().set("bootstrap.servers", bootstrap()).set("group.id", &app).create().unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(&events, 0);
        let committed = consumer.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
        let metadata = committed.find_partition(&events, 0).unwrap().metadata().to_string();
        assert!(metadata.starts_with("AgAAAAAAABdw"), "{guarantee}: {metadata}");
        produce(&events, &[event("b", 7_000), event("a", 8_000), event("b", 11_000)]);
        run();
        let emitted: Vec<(String, i64)> = read_all(&counts)
            .iter()
            .map(|r| {
                let key = r.key.clone().unwrap();
                let (name, start) = key.split_at(key.len() - 8);
                (String::from_utf8(name.to_vec()).unwrap(), i64::from_be_bytes(start.try_into().unwrap()))
            })
            .collect();
        assert_eq!(
            emitted,
            [("a".into(), 0), ("b".into(), 0), ("a".into(), 5_000), ("b".into(), 5_000)],
            "{guarantee}: each window once"
        );
    }
}

/// Persistent stores under exactly-once, tasks moving away and back: two instances (each a
/// state directory of its own), one stops and starts again, so tasks go to the other and
/// come back; every move checkpoints the suspended tasks and the new owner starts from its
/// checkpoint (or wipes and rebuilds), and the counts stay exact.
#[test]
fn persistent_stores_under_exactly_once_follow_tasks_that_move_away_and_back() {
    let (input, output, app) = (unique("wcp-in"), unique("wcp-out"), unique("wcp-app"));
    create_topics(&[&input, &output], 4);
    let slots = std::env::temp_dir().join(unique("wcp-state"));
    let env = [("STATE_DIR_SLOTS", slots.to_str().unwrap())];
    let settings = ["processing.guarantee=exactly_once_v2", "default.dsl.store=rocksDB"];
    let start = || Instance::start_with_env(&app, &input, &output, &settings, &env);
    let (a, b) = (start(), start());
    wait_until("both instances have tasks", Duration::from_secs(120), || {
        a.logged("assignment taken")
            && b.logged("assignment taken")
            && !a.logged("tasks=0")
            && !b.logged("tasks=0")
    });
    let lines = text_lines(3_000);
    let counted = |n: usize| final_counts(&output).0 == golden_counts(&lines[..n]);
    produce(&input, &line_records(&lines[..1_000], 1_000));
    wait_until("the first third is counted", Duration::from_secs(120), || counted(1_000));
    // B stops: its tasks move to A.
    assert!(b.terminate() > 0, "the partitions were not split");
    produce(&input, &line_records(&lines[1_000..2_000], 10_000));
    wait_until("the second third is counted", Duration::from_secs(120), || counted(2_000));
    // B starts again (in its directory): tasks come back to it.
    let b = start();
    wait_until("B has tasks again", Duration::from_secs(120), || {
        b.logged("assignment taken") && !b.logged("tasks=0")
    });
    produce(&input, &line_records(&lines[2_000..], 20_000));
    wait_until("everything is counted", Duration::from_secs(120), || counted(3_000));
    let (by_a, by_b) = (a.terminate(), b.terminate());
    assert_eq!(final_counts(&output).0, golden_counts(&lines));
    eprintln!("instance A processed {by_a}, B (second life) {by_b}");
    let _ = std::fs::remove_dir_all(&slots);
}
