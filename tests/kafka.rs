//! On a real Apache Kafka broker: `scripts/kafka-broker.sh run cargo test --workspace` starts
//! one and sets `KAFKA_BOOTSTRAP`. Every test uses topics and application ids of its own.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use streams_runtime::cluster::kafka::KafkaClients;
use streams_runtime::partitioner::partition_for_key;
use streams_runtime::prelude::*;
use streams_runtime::{KafkaStreams, RunMode, StreamsConfig};
use streams_tests::golden_counts;
use streams_tests::kafka::*;

#[test]
fn word_count_on_four_partitions_with_two_threads_equals_the_golden_counts_and_restarts_with_its_state() {
    let (input, output, app) = (unique("wc-in"), unique("wc-out"), unique("wc-app"));
    create_topics(&[&input, &output], 4);
    let lines = text_lines(2_000);
    produce(&input, &line_records(&lines[..1_500], 1_000));
    let mut config = config(&app);
    config.set("num.stream.threads", "2");
    let streams = KafkaStreams::connect(wordcount_topology(&input, &output), config.clone()).unwrap();
    block_on_multi(streams.run(RunMode::UntilDrained)).unwrap();
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
    let again = KafkaStreams::connect(wordcount_topology(&input, &output), config).unwrap();
    block_on_multi(again.run(RunMode::UntilDrained)).unwrap();
    assert_eq!(final_counts(&output).0, golden_counts(&lines));
}

/// A `wordcount_instance` process and the lines it has written to stderr.
struct Instance {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    stdout: Option<std::process::ChildStdout>,
}

impl Instance {
    fn start(app: &str, input: &str, output: &str, settings: &[&str]) -> Instance {
        Self::start_with_env(app, input, output, settings, &[])
    }

    fn start_with_env(
        app: &str,
        input: &str,
        output: &str,
        settings: &[&str],
        env: &[(&str, &str)],
    ) -> Instance {
        // A quick failover under the classic protocol; the consumer protocol (KIP-848) has
        // its session timeout on the broker.
        let classic = !settings.contains(&"consumer.group.protocol=consumer");
        let quick: &[&str] = if classic {
            &["consumer.session.timeout.ms=6000", "consumer.heartbeat.interval.ms=500"]
        } else {
            &[]
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_wordcount_instance"))
            .args([app, input, output])
            .args(quick)
            .args(settings)
            .env("KAFKA_BOOTSTRAP", bootstrap())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start an instance");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let stdout = child.stdout.take();
        Instance { child, log, stdout }
    }

    /// Kills it (SIGKILL): nothing is committed or left cleanly.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn logged(&self, text: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(text))
    }

    /// Stops it with SIGTERM (it commits and leaves the group) and returns how many records
    /// it processed.
    fn terminate(mut self) -> u64 {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "instance failed: {:?}", self.log.lock().unwrap());
        let mut out = String::new();
        std::io::Read::read_to_string(&mut self.stdout.take().unwrap(), &mut out).unwrap();
        out.trim().strip_prefix("processed ").unwrap().parse().unwrap()
    }
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < timeout, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn two_instances_split_the_partitions_and_a_stopped_one_hands_its_tasks_over_with_their_state() {
    let (input, output, app) = (unique("wc2-in"), unique("wc2-out"), unique("wc2-app"));
    create_topics(&[&input, &output], 4);
    let a = Instance::start(&app, &input, &output, &[]);
    let b = Instance::start(&app, &input, &output, &[]);
    let assigned = "assignment taken";
    wait_until("both instances have tasks", Duration::from_secs(60), || {
        a.logged(assigned) && b.logged(assigned) && !a.logged("tasks=0") && !b.logged("tasks=0")
    });
    let lines = text_lines(4_000);
    produce(&input, &line_records(&lines[..2_000], 1_000));
    wait_until("the first half is counted", Duration::from_secs(60), || {
        final_counts(&output).0 == golden_counts(&lines[..2_000])
    });
    // B stops mid-run: its tasks move to A, which restores them from their changelogs.
    let by_b = b.terminate();
    assert!(by_b > 0, "the second instance processed nothing: the partitions were not split");
    produce(&input, &line_records(&lines[2_000..], 10_000));
    wait_until("everything is counted", Duration::from_secs(60), || {
        final_counts(&output).0 == golden_counts(&lines)
    });
    assert!(a.logged("restored from changelog"), "the moved tasks were not restored");
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
    wait_until("both instances have tasks", Duration::from_secs(60), || {
        a.logged("assignment taken") && b.logged("assignment taken") && !b.logged("tasks=0")
    });
    let lines = text_lines(20_000);
    produce(&input, &line_records(&lines, 1_000));
    // Killed while it works: whatever it did since its last commit is redone by A.
    wait_until("B processes", Duration::from_secs(30), || !final_counts(&output).0.is_empty());
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
    wait_until("the example's topics are gone", Duration::from_secs(30), || {
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
fn the_three_examples_write_the_same_output_through_kafka() {
    use examples::{clickstream, stockstats, wordcount};
    let cases: [Example; 3] = [
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
    wait_until("the first shipment", Duration::from_secs(60), || read_all(&shipments).len() == 1);
    produce(&countries, &[record("jp", "Nippon", 200)]);
    wait_until("the global store to change", Duration::from_secs(30), || {
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

// ---------------------------------------------------------------------------------------
// Faults as production has them: a broker restarted (5 times), frozen (SIGSTOP), instances
// killed (SIGKILL) and started again, a user closure that panics. Each scenario runs two
// word-count instances on a broker of its own (127.0.0.1:19392), fed continuously while the
// fault happens, and prints one line of figures. `scripts/fault-runs.sh N` repeats them.
// ---------------------------------------------------------------------------------------

/// The fault scenarios share one broker port: one at a time.
static FAULTS: Mutex<()> = Mutex::new(());

/// What is done to the running application.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// The broker stopped (SIGTERM) for 10 s and started again, this many times.
    BrokerRestarts(usize),
    /// The broker frozen with SIGSTOP for 20 s, then resumed.
    BrokerFrozen,
    /// One instance killed (SIGKILL) and started again; then both.
    InstancesKilled,
    /// A user closure panics once in each instance; the thread is replaced.
    ClosurePanics,
}

/// Writes lines to a topic in the background (200 a second) until stopped; idempotent, so
/// a broker outage delays lines but never writes one twice.
struct Feeder {
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<Vec<String>>,
}

impl Feeder {
    fn start(topic: &str, special: Option<&'static str>) -> Feeder {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (topic, flag) = (topic.to_string(), stop.clone());
        let mut c = config("test-feeder");
        c.set("producer.enable.idempotence", "true").set("producer.message.timeout.ms", "600000");
        let handle = std::thread::spawn(move || {
            let producer = KafkaClients::new(&c).unwrap().producer("test-feeder").unwrap();
            let sample = text_lines(40_000);
            let mut written = Vec::new();
            while !flag.load(std::sync::atomic::Ordering::SeqCst) && written.len() < sample.len() {
                let mut batch: Vec<String> = sample[written.len()..written.len() + 20].to_vec();
                // A few lines with the word that makes a closure panic, spread over partitions.
                if let Some(word) = special.filter(|_| written.len() % 2_000 == 1_000) {
                    batch.push(format!("{word} here"));
                }
                for (i, line) in batch.iter().enumerate() {
                    let ts = 1_000 + (written.len() + i) as i64;
                    producer.send(&topic, None, None, Some(line.as_bytes()), ts, &Headers::new()).unwrap();
                }
                written.extend(batch);
                // Blocks while the broker is away; the producer retries on its own.
                while producer.flush().is_err() {}
                std::thread::sleep(Duration::from_millis(100));
            }
            written
        });
        Feeder { stop, handle }
    }

    fn stop(self) -> Vec<String> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.handle.join().unwrap()
    }
}

/// Writes each instance's log to a file in the temporary directory and names it.
fn dump_logs(tag: &str, instances: &[(&str, &Instance)]) {
    for (name, i) in instances {
        let path = std::env::temp_dir().join(format!("{tag}-{name}.log"));
        let _ = std::fs::write(&path, i.log.lock().unwrap().join("\n"));
        eprintln!("{tag}: instance {name}'s log is in {}", path.display());
    }
}

/// What a fault scenario measured.
struct Figures {
    /// Per fault: from the broker answering (or the instances started again) to the next
    /// committed output.
    resumed: Vec<Duration>,
    /// Words counted more than once (at-least-once may; exactly-once must not).
    duplicated: i64,
    /// Words counted in all.
    words: i64,
}

/// Waits until committed output grows past `from`; returns how long that took.
fn resumed_after(output: &str, from: u64, started: Instant) -> Duration {
    wait_until("output resumes", Duration::from_secs(120), || committed_end(output) > from);
    started.elapsed()
}

fn run_fault(tag: &str, settings: &[&str], fault: Fault) -> Figures {
    let _one_at_a_time = FAULTS.lock().unwrap_or_else(|p| p.into_inner());
    let broker = OwnBroker::start(19392);
    use_own_broker(&broker.bootstrap());
    let (input, output, app) =
        (unique(&format!("{tag}-in")), unique(&format!("{tag}-out")), unique(&format!("{tag}-app")));
    create_topics(&[&input, &output], 4);
    let env: &[(&str, &str)] = if matches!(fault, Fault::ClosurePanics) {
        &[("PANIC_ONCE_ON", "boom"), ("REPLACE_THREAD", "1")]
    } else {
        &[]
    };
    let start = || Instance::start_with_env(&app, &input, &output, settings, env);
    let (mut a, mut b) = (start(), start());
    wait_until("both instances have tasks", Duration::from_secs(60), || {
        a.logged("assignment taken") && b.logged("assignment taken")
    });
    let feeder = Feeder::start(&input, matches!(fault, Fault::ClosurePanics).then_some("boom"));
    wait_until("counting starts", Duration::from_secs(60), || committed_end(&output) > 0);
    let mut resumed = Vec::new();
    match fault {
        Fault::BrokerRestarts(n) => {
            for _ in 0..n {
                broker.stop();
                std::thread::sleep(Duration::from_secs(10));
                broker.restart();
                let (answered, before) = (Instant::now(), committed_end(&output));
                resumed.push(resumed_after(&output, before, answered));
            }
        }
        Fault::BrokerFrozen => {
            broker.freeze(Duration::from_secs(20));
            let (answered, before) = (Instant::now(), committed_end(&output));
            resumed.push(resumed_after(&output, before, answered));
        }
        Fault::InstancesKilled => {
            std::thread::sleep(Duration::from_secs(3));
            b.kill();
            b = start();
            let (restarted, before) = (Instant::now(), committed_end(&output));
            resumed.push(resumed_after(&output, before, restarted));
            std::thread::sleep(Duration::from_secs(3));
            a.kill();
            b.kill();
            (a, b) = (start(), start());
            let (restarted, before) = (Instant::now(), committed_end(&output));
            resumed.push(resumed_after(&output, before, restarted));
        }
        Fault::ClosurePanics => {
            wait_until("a stream thread is replaced", Duration::from_secs(120), || {
                a.logged("replacing it") || b.logged("replacing it")
            });
            std::thread::sleep(Duration::from_secs(5));
        }
    }
    let lines = feeder.stop();
    let golden = golden_counts(&lines);
    let counted =
        |counts: &BTreeMap<String, i64>| golden.iter().all(|(w, n)| counts.get(w).is_some_and(|c| c >= n));
    let started = Instant::now();
    while !counted(&final_committed_counts(&output).0) {
        if started.elapsed() > Duration::from_secs(180) {
            let counts = final_committed_counts(&output).0;
            let short: Vec<_> =
                golden.iter().filter(|(w, n)| counts.get(*w).is_none_or(|c| c < *n)).take(5).collect();
            dump_logs(tag, &[("A", &a), ("B", &b)]);
            panic!("{tag}: not every word counted 180 s after the faults; short: {short:?}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    for (name, instance) in [("A", &mut a), ("B", &mut b)] {
        let exited = instance.child.try_wait().unwrap();
        assert!(
            exited.is_none(),
            "{tag}: instance {name} exited ({exited:?}): {:?}",
            instance.log.lock().unwrap()
        );
    }
    if matches!(fault, Fault::ClosurePanics) {
        assert!(a.logged("a closure failed on `boom here`") || b.logged("a closure failed on `boom here`"));
    }
    a.terminate();
    b.terminate();
    let counts = final_committed_counts(&output).0;
    let words = golden.values().sum::<i64>();
    let figures = Figures { resumed, duplicated: counts.values().sum::<i64>() - words, words };
    eprintln!(
        "fault {tag}: {fault:?}; output resumed after {:?}; {} of {} words counted twice; none lost; no instance exited",
        figures.resumed, figures.duplicated, figures.words
    );
    figures
}

const EXACTLY_ONCE: &[&str] = &["processing.guarantee=exactly_once_v2"];

#[test]
fn exactly_once_survives_five_broker_restarts_counting_nothing_twice() {
    let f = run_fault("eos-restarts", EXACTLY_ONCE, Fault::BrokerRestarts(5));
    assert_eq!(f.duplicated, 0);
}

#[test]
fn at_least_once_survives_five_broker_restarts_losing_nothing() {
    let f = run_fault("alos-restarts", &[], Fault::BrokerRestarts(5));
    assert!(f.duplicated >= 0);
}

#[test]
fn exactly_once_survives_a_broker_frozen_for_twenty_seconds() {
    let f = run_fault("eos-frozen", EXACTLY_ONCE, Fault::BrokerFrozen);
    assert_eq!(f.duplicated, 0);
}

#[test]
fn exactly_once_survives_instances_killed_and_started_again() {
    let f = run_fault("eos-killed", EXACTLY_ONCE, Fault::InstancesKilled);
    assert_eq!(f.duplicated, 0);
}

#[test]
fn exactly_once_replaces_a_thread_whose_closure_panicked_counting_nothing_twice() {
    let f = run_fault("eos-panic", EXACTLY_ONCE, Fault::ClosurePanics);
    assert_eq!(f.duplicated, 0);
}

/// Reads `topic` from its end in the background and notes when each partition's records
/// arrive, to see how long a partition's output stops.
struct Tail {
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<Vec<(i32, Instant)>>,
}

impl Tail {
    fn start(topic: &str, partitions: i32) -> Tail {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let consumer = clients().plain_consumer(&unique("test-tail")).unwrap();
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition_offset(topic, p, Offset::End).unwrap();
        }
        consumer.assign(&tpl).unwrap();
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                if let Some(Ok(m)) = consumer.poll(Duration::from_millis(20)) {
                    seen.push((rdkafka::Message::partition(&m), Instant::now()));
                }
            }
            seen
        });
        Tail { stop, handle }
    }

    /// When each record arrived, by partition.
    fn stop(self) -> Vec<(i32, Instant)> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.handle.join().unwrap()
    }
}

/// Per partition, the longest time without output between `from` and `to`, longest first.
fn longest_gaps(seen: &[(i32, Instant)], from: Instant, to: Instant, partitions: i32) -> Vec<Duration> {
    {
        let mut gaps: Vec<Duration> = (0..partitions)
            .map(|p| {
                let mut last = from;
                let mut longest = Duration::ZERO;
                for (_, at) in seen.iter().filter(|(q, at)| *q == p && *at >= from && *at <= to) {
                    longest = longest.max(at.duration_since(last));
                    last = *at;
                }
                longest.max(to.duration_since(last))
            })
            .collect();
        gaps.sort_unstable_by(|a, b| b.cmp(a));
        gaps
    }
}

/// A third instance joins two that are working. With the classic protocol's eager `range`
/// assignor every task of every instance pauses for the rebalance; with the consumer protocol
/// (KIP-848, `consumer.group.protocol=consumer`) only the tasks that move do. Prints, per
/// protocol, the partitions each staying instance gave up and the longest pause of each
/// output partition.
#[test]
fn a_third_instance_joining_pauses_only_the_tasks_that_move_under_the_consumer_protocol() {
    for protocol in ["classic", "consumer"] {
        let tag = format!("join-{protocol}");
        let (input, output, app) =
            (unique(&format!("{tag}-in")), unique(&format!("{tag}-out")), unique(&format!("{tag}-app")));
        create_topics(&[&input, &output], 4);
        let setting = format!("consumer.group.protocol={protocol}");
        let settings = [setting.as_str(), "statestore.cache.max.bytes=0"];
        let a = Instance::start(&app, &input, &output, &settings);
        let b = Instance::start(&app, &input, &output, &settings);
        wait_until("both instances have tasks", Duration::from_secs(90), || {
            a.logged("assignment taken") && b.logged("assignment taken")
        });
        let feeder = Feeder::start(&input, None);
        wait_until("counting starts", Duration::from_secs(60), || !read_all(&output).is_empty());
        let tail = Tail::start(&output, 4);
        let quiet = Instant::now();
        std::thread::sleep(Duration::from_secs(5));
        let marks = (a.log.lock().unwrap().len(), b.log.lock().unwrap().len());
        let joined = Instant::now();
        let c = Instance::start(&app, &input, &output, &settings);
        let started = Instant::now();
        while !c.logged("added=") {
            if started.elapsed() > Duration::from_secs(90) {
                dump_logs(&tag, &[("A", &a), ("B", &b), ("C", &c)]);
                panic!("{tag}: the third instance has no tasks after 90 s");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_secs(5));
        let seen = tail.stop();
        let (before, gaps) =
            (longest_gaps(&seen, quiet, joined, 4), longest_gaps(&seen, joined, Instant::now(), 4));
        let lines = feeder.stop();
        // What each gave up when the third joined (each had 4 partitions: 2 input, 2 repartition).
        let revoked = |i: &Instance, mark: usize| -> Vec<String> {
            i.log.lock().unwrap()[mark..]
                .iter()
                .filter(|l| l.contains("partitions revoked"))
                .filter_map(|l| l.split("partitions=").nth(1).map(|n| n.trim().to_string()))
                .collect()
        };
        let (revoked_a, revoked_b) = (revoked(&a, marks.0), revoked(&b, marks.1));
        let golden = golden_counts(&lines);
        wait_until("everything is counted", Duration::from_secs(120), || {
            let counts = final_counts(&output).0;
            golden.iter().all(|(w, n)| counts.get(w).is_some_and(|c| c >= n))
        });
        for i in [a, b, c] {
            i.terminate();
        }
        eprintln!(
            "join {protocol}: revoked by A {revoked_a:?}, by B {revoked_b:?} (of 4 each); \
             longest pause per output partition {gaps:?} (before the join: {before:?})"
        );
        // Eager, both give up all they have; incremental, at least one keeps some of its tasks
        // running through the rebalance (the broker's sticky assignor may still move all of
        // the other's).
        let gave_up_all = |r: &[String]| r.iter().any(|n| n == "4");
        let everything_moved = gave_up_all(&revoked_a) && gave_up_all(&revoked_b);
        assert_eq!(everything_moved, protocol == "classic", "{protocol}: A {revoked_a:?}, B {revoked_b:?}");
    }
}
