//! Faults as production has them, on a broker of these tests' own (127.0.0.1:19392, started
//! and stopped by each scenario): restarted (5 times), frozen (SIGSTOP), instances killed
//! (SIGKILL) and started again, a user closure that panics; and a third instance joining two.
//! Two word-count instances (`wordcount_instance`) are fed continuously while the fault
//! happens; each scenario prints one line of figures. `scripts/fault-runs.sh N` repeats them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};
use streams_runtime::cluster::kafka::KafkaClients;
use streams_runtime::Headers;
use streams_tests::golden_counts;
use streams_tests::instance::{stacks_of, wait_until, Instance};
use streams_tests::kafka::*;

/// The scenarios share one broker port and the machine's two cores: one at a time.
static FAULTS: Mutex<()> = Mutex::new(());

/// What is done to the running application.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// The broker stopped (SIGTERM, a controlled shutdown) for 10 s and started again, this
    /// many times.
    BrokerRestarts(usize),
    /// The broker killed (SIGKILL, as a crashed host) and started again 10 s later, this many
    /// times.
    BrokerCrashes(usize),
    /// A rolling restart of a three-broker cluster (topics replicated three times): each
    /// broker in turn stopped (SIGTERM) for 10 s and started again, this many restarts.
    RollingRestarts(usize),
    /// The broker frozen with SIGSTOP for 20 s, then resumed.
    BrokerFrozen,
    /// One instance killed (SIGKILL) and started again; then both.
    InstancesKilled,
    /// A user closure panics once in each instance; the thread is replaced.
    ClosurePanics,
}

/// Writes lines to a topic in the background (200 a second) until stopped; idempotent, so
/// a broker outage delays lines but never writes one twice. A producer that cannot flush for
/// a minute (seen once after the broker was frozen: librdkafka's idempotent producer never
/// recovered) is replaced and its last batch written again, which may write lines twice: what
/// the scenario counts is what the input topic holds ([`lines_in`]), not what was sent.
struct Feeder {
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<()>,
}

impl Feeder {
    fn start(topic: &str, special: Option<&'static str>) -> Feeder {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (topic, flag) = (topic.to_string(), stop.clone());
        let mut c = config("test-feeder");
        c.set("producer.enable.idempotence", "true").set("producer.message.timeout.ms", "600000");
        let handle = std::thread::spawn(move || {
            let clients = KafkaClients::new(&c).unwrap();
            let mut producer = clients.producer("test-feeder").unwrap();
            let sample = text_lines(40_000);
            let mut written = 0;
            let mut replaced = 0;
            while !flag.load(std::sync::atomic::Ordering::SeqCst) && written < sample.len() {
                let mut batch: Vec<String> = sample[written..written + 20].to_vec();
                // A few lines with the word that makes a closure panic, spread over partitions.
                if let Some(word) = special.filter(|_| written % 2_000 == 1_000) {
                    batch.push(format!("{word} here"));
                }
                let send = |producer: &streams_runtime::cluster::kafka::KafkaProducer| {
                    for (i, line) in batch.iter().enumerate() {
                        let ts = 1_000 + (written + i) as i64;
                        producer
                            .send(&topic, None, None, Some(line.as_bytes()), ts, &Headers::new())
                            .unwrap();
                    }
                };
                send(&producer);
                // Blocks while the broker is away; the producer retries on its own.
                let since = Instant::now();
                while let Err(e) = producer.flush() {
                    if since.elapsed() > Duration::from_secs(60) {
                        replaced += 1;
                        assert!(replaced <= 3, "the feeder cannot write: {e}");
                        eprintln!("the feeder's producer cannot flush ({e}); replacing it");
                        producer = clients.producer("test-feeder").unwrap();
                        send(&producer);
                    }
                }
                written += 20;
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Feeder { stop, handle }
    }

    /// Stops writing; the lines written are read back with [`lines_in`].
    fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.handle.join().unwrap()
    }
}

/// The lines the input topic holds.
fn lines_in(topic: &str) -> Vec<String> {
    read_all(topic)
        .into_iter()
        .filter_map(|r| r.value.map(|v| String::from_utf8_lossy(&v).into_owned()))
        .collect()
}

/// Writes each instance's log to a file in the temporary directory and names it.
fn dump_logs(tag: &str, instances: &[(&str, &Instance)]) {
    for (name, i) in instances {
        let path = std::env::temp_dir().join(format!("{tag}-{name}.log"));
        let _ = std::fs::write(&path, i.log.lock().unwrap().join("\n"));
        eprintln!("{tag}: instance {name}'s log is in {}", path.display());
    }
}

/// Writes the instances' logs to files if the scenario fails (panics) while it is held,
/// with the stacks of the instances still running (where a hung one waits).
struct LogsOnPanic {
    tag: String,
    logs: Vec<(&'static str, Arc<Mutex<Vec<String>>>)>,
    /// The instances' processes, whose stacks are written after their logs.
    pids: Vec<u32>,
}

impl LogsOnPanic {
    fn watching(tag: &str, a: &Instance, b: &Instance) -> LogsOnPanic {
        LogsOnPanic {
            tag: tag.to_string(),
            logs: vec![("A", a.log.clone()), ("B", b.log.clone())],
            pids: vec![a.child.id(), b.child.id()],
        }
    }

    /// Watches instances started again.
    fn watch(&mut self, a: &Instance, b: &Instance) {
        *self = LogsOnPanic::watching(&self.tag, a, b);
    }

    fn write(&self) {
        for (i, (name, log)) in self.logs.iter().enumerate() {
            let path = std::env::temp_dir().join(format!("{}-{name}.log", self.tag));
            let mut text = log.lock().unwrap_or_else(|p| p.into_inner()).join("\n");
            if let Some(pid) = self.pids.get(i) {
                text.push_str("\n\n");
                text.push_str(&stacks_of(*pid));
            }
            let _ = std::fs::write(&path, text);
            eprintln!("{}: instance {name}'s log is in {}", self.tag, path.display());
        }
    }
}

impl Drop for LogsOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.write();
        }
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

/// Where committed output ends now (asked again while the broker does not answer).
fn end_now(output: &str) -> u64 {
    let mut end = None;
    wait_until("the broker answers", Duration::from_secs(120), || {
        end = committed_end(output);
        end.is_some()
    });
    end.expect("answered")
}

/// Waits until committed output grows past `from`; returns how long that took.
fn resumed_after(output: &str, from: u64, started: Instant) -> Duration {
    wait_until("output resumes", Duration::from_secs(120), || {
        committed_end(output).is_some_and(|e| e > from)
    });
    started.elapsed()
}

/// The brokers a scenario runs on.
enum Brokers {
    One(OwnBroker),
    Three(OwnCluster),
}

impl Brokers {
    fn bootstrap(&self) -> String {
        match self {
            Brokers::One(b) => b.bootstrap(),
            Brokers::Three(c) => c.bootstrap(),
        }
    }

    /// See [`OwnBroker::abort_hanging`]; a cluster keeps its markers (nothing hangs there).
    fn abort_hanging(&self) -> Vec<String> {
        match self {
            Brokers::One(b) => b.abort_hanging(),
            Brokers::Three(_) => Vec::new(),
        }
    }
}

fn run_fault(tag: &str, settings: &[&str], fault: Fault) -> Figures {
    let _one_at_a_time = FAULTS.lock().unwrap_or_else(|p| p.into_inner());
    let brokers = match fault {
        Fault::RollingRestarts(_) => Brokers::Three(OwnCluster::start(19500)),
        _ => Brokers::One(OwnBroker::start(19392)),
    };
    use_own_broker(&brokers.bootstrap());
    let (input, output, app) =
        (unique(&format!("{tag}-in")), unique(&format!("{tag}-out")), unique(&format!("{tag}-app")));
    let mut settings: Vec<&str> = settings.to_vec();
    match &brokers {
        Brokers::One(_) => create_topics(&[&input, &output], 4),
        Brokers::Three(_) => {
            create_replicated_topics(&[&input, &output], 4, 3);
            settings.push("replication.factor=3");
        }
    }
    let settings = &settings[..];
    let mut env: Vec<(&str, &str)> = if matches!(fault, Fault::ClosurePanics) {
        vec![("PANIC_ONCE_ON", "boom"), ("REPLACE_THREAD", "1")]
    } else {
        vec![]
    };
    // Persistent stores: each instance takes a state directory no running one holds, so an
    // instance started after a kill takes over the killed one's.
    let slots = std::env::temp_dir().join(unique(&format!("{tag}-state")));
    let slots = slots.to_str().expect("a UTF-8 path").to_string();
    if settings.contains(&"default.dsl.store=rocksDB") {
        env.push(("STATE_DIR_SLOTS", &slots));
    }
    let start = || Instance::start_with_env(&app, &input, &output, settings, &env);
    let (mut a, mut b) = (start(), start());
    let mut logs = LogsOnPanic::watching(tag, &a, &b);
    wait_until("both instances have tasks", Duration::from_secs(120), || {
        a.logged("assignment taken") && b.logged("assignment taken")
    });
    let feeder = Feeder::start(&input, matches!(fault, Fault::ClosurePanics).then_some("boom"));
    wait_until("counting starts", Duration::from_secs(120), || committed_end(&output).is_some_and(|e| e > 0));
    let mut resumed = Vec::new();
    match fault {
        Fault::RollingRestarts(n) => {
            let Brokers::Three(cluster) = &brokers else { unreachable!("a cluster of three") };
            for i in 0..n {
                let node = (i % 3) as u32 + 1;
                cluster.stop_node(node);
                std::thread::sleep(Duration::from_secs(10));
                cluster.start_node(node);
                let (answered, before) = (Instant::now(), end_now(&output));
                resumed.push(resumed_after(&output, before, answered));
            }
        }
        Fault::BrokerRestarts(n) | Fault::BrokerCrashes(n) => {
            let Brokers::One(broker) = &brokers else { unreachable!("one broker") };
            for _ in 0..n {
                if matches!(fault, Fault::BrokerCrashes(_)) {
                    broker.crash();
                } else {
                    broker.stop();
                }
                std::thread::sleep(Duration::from_secs(10));
                broker.restart();
                let (answered, before) = (Instant::now(), end_now(&output));
                resumed.push(resumed_after(&output, before, answered));
            }
        }
        Fault::BrokerFrozen => {
            let Brokers::One(broker) = &brokers else { unreachable!("one broker") };
            broker.freeze(Duration::from_secs(20));
            let (answered, before) = (Instant::now(), end_now(&output));
            resumed.push(resumed_after(&output, before, answered));
        }
        Fault::InstancesKilled => {
            std::thread::sleep(Duration::from_secs(3));
            b.kill();
            b = start();
            logs.watch(&a, &b);
            let (restarted, before) = (Instant::now(), end_now(&output));
            resumed.push(resumed_after(&output, before, restarted));
            std::thread::sleep(Duration::from_secs(3));
            a.kill();
            b.kill();
            (a, b) = (start(), start());
            logs.watch(&a, &b);
            let (restarted, before) = (Instant::now(), end_now(&output));
            resumed.push(resumed_after(&output, before, restarted));
        }
        Fault::ClosurePanics => {
            wait_until("a stream thread is replaced", Duration::from_secs(120), || {
                a.logged("replacing it") || b.logged("replacing it")
            });
            std::thread::sleep(Duration::from_secs(5));
        }
    }
    feeder.stop();
    let golden = golden_counts(&lines_in(&input));
    let counted =
        |counts: &BTreeMap<String, i64>| golden.iter().all(|(w, n)| counts.get(w).is_some_and(|c| c >= n));
    // A transaction whose markers the broker lost hangs (Kafka 4.x skips the markers of a
    // partition without a leader, and a one-broker cluster has none while it shuts down): the
    // task restoring from it waits, and says so after a minute. The operator's remedy, Kafka's
    // `kafka-transactions.sh find-hanging` and `abort`, is applied then, and counted.
    let started = Instant::now();
    let mut aborted: Vec<String> = Vec::new();
    let mut deadline = Duration::from_secs(180);
    while !counted(&final_committed_counts(&output).0) {
        let hanging = || a.logged("a hanging transaction") || b.logged("a hanging transaction");
        if aborted.is_empty() && started.elapsed() > Duration::from_secs(75) && hanging() {
            aborted = brokers.abort_hanging();
            eprintln!("fault {tag}: hanging transactions aborted: {aborted:?}");
            deadline = started.elapsed() + Duration::from_secs(180);
        }
        if started.elapsed() > deadline {
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
    // Kept in case words were counted twice (the processes are gone by then: no stacks).
    let duplicates =
        LogsOnPanic { tag: format!("{tag}-duplicates"), logs: logs.logs.clone(), pids: Vec::new() };
    a.terminate();
    b.terminate();
    let counts = final_committed_counts(&output).0;
    let words = golden.values().sum::<i64>();
    let figures = Figures { resumed, duplicated: counts.values().sum::<i64>() - words, words };
    if figures.duplicated != 0 {
        // Expected at-least-once; a failure exactly-once; counts gone down, a failure either
        // way: what happened is kept.
        duplicates.write();
    }
    // How often librdkafka was worked around: a transactional call that did not return (its
    // producer replaced), an offsets reader whose reads kept failing (replaced), changelog
    // readers after a failed restoration (replaced).
    let logged = |text: &str| -> usize {
        duplicates
            .logs
            .iter()
            .map(|(_, log)| log.lock().unwrap().iter().filter(|l| l.contains(text)).count())
            .sum()
    };
    let (given_up, readers) = (logged("giving the producer up"), logged("replacing the offsets reader"));
    let changelog_readers = logged("replacing the changelog readers");
    // Changelog records the instances restored (persistent stores: since their checkpoints).
    let restored: u64 = duplicates
        .logs
        .iter()
        .flat_map(|(_, log)| log.lock().unwrap().clone())
        .filter(|l| l.contains("restored from changelog"))
        .filter_map(|l| l.split("records=").nth(1)?.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    eprintln!(
        "fault {tag}: {fault:?}; output resumed after {:?}; {} of {} words counted twice; none lost; no instance exited; {restored} changelog records restored; {given_up} producer(s) given up, {readers} offsets reader(s) replaced, {changelog_readers} changelog reader(s) replaced, {} hanging transaction partition(s) aborted",
        figures.resumed, figures.duplicated, figures.words, aborted.len()
    );
    let _ = std::fs::remove_dir_all(&slots);
    figures
}

const EXACTLY_ONCE: &[&str] = &["processing.guarantee=exactly_once_v2"];

/// Not in CI either: a one-broker cluster restarted after a crash can lose markers the same way
/// as at a controlled shutdown. While it starts, its transaction coordinator loads
/// `__transaction_state` and sends the markers of transactions it finds half-completed before
/// the broker leads the partitions they are for; `TransactionMarkerChannelManager` skips those
/// ("Couldn't find leader endpoint … likely deleted", logged 0.8 s before "Kafka Server started"
/// in the failing run), and the group's offsets stay pending for good. Measured: 5 of 7 runs
/// green (`scripts/fault-runs.sh N --ignored five_broker_crashes`): one failure this, with the
/// machine busy (a slower start); one from transactions left hanging on the same broker's data
/// by earlier runs (a scenario's broker now starts empty). A cluster of three keeps a leader for
/// every partition: CI runs the rolling restart below.
#[test]
#[ignore = "a one-broker cluster can lose transaction markers while it starts after a crash (Kafka's broker)"]
fn exactly_once_survives_five_broker_crashes_counting_nothing_twice() {
    let f = run_fault("eos-crashes", EXACTLY_ONCE, Fault::BrokerCrashes(5));
    assert_eq!(f.duplicated, 0);
}

/// The production case of a broker restart: a rolling restart of three brokers, each stopped
/// in turn (a controlled shutdown) for 10 s. Partitions keep a leader throughout.
#[test]
fn exactly_once_survives_a_rolling_restart_of_three_brokers_counting_nothing_twice() {
    let f = run_fault("eos-rolling", EXACTLY_ONCE, Fault::RollingRestarts(5));
    assert_eq!(f.duplicated, 0);
}

/// Not in CI: a controlled shutdown of the *only* broker loses transaction markers, whoever
/// the client is. While it shuts down, every partition of a one-broker cluster is without a
/// leader, and Kafka's `TransactionMarkerChannelManager.addTxnMarkersToBrokerQueue` skips the
/// markers of such a partition as "likely deleted already" (its broker log says so), then
/// completes the transaction: the partition keeps an open transaction forever. Held on
/// `__consumer_offsets`, the group's offsets cannot be read as stable, so the tasks wait (and
/// say so, naming the operator's remedy after a minute); Kafka Streams waits the same. Aborting
/// it with `kafka-transactions.sh abort` rolls back offsets the coordinator had committed, and
/// the records are counted again. With more than one broker, partitions keep a leader through a
/// rolling restart. Run it with `scripts/fault-runs.sh N --ignored
/// exactly_once_survives_five_broker_restarts` (3 of 5 runs green when measured).
#[test]
#[ignore = "a graceful restart of a one-broker cluster loses transaction markers (Kafka's broker)"]
fn exactly_once_survives_five_broker_restarts_counting_nothing_twice() {
    let f = run_fault("eos-restarts", EXACTLY_ONCE, Fault::BrokerRestarts(5));
    assert_eq!(f.duplicated, 0);
}

/// Three restarts, not five: exactly-once already takes five, and CI's time is shared.
#[test]
fn at_least_once_survives_three_broker_restarts_losing_nothing() {
    let f = run_fault("alos-restarts", &[], Fault::BrokerRestarts(3));
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

/// Persistent stores (`default.dsl.store=rocksDB`) under exactly-once: a killed instance leaves
/// no checkpoint, so the one started in its place wipes the stores it finds and rebuilds them
/// from the changelogs (they may hold writes of the aborted transaction).
#[test]
fn exactly_once_with_persistent_stores_survives_instances_killed_and_started_again() {
    let settings = [EXACTLY_ONCE, &["default.dsl.store=rocksDB"]].concat();
    let f = run_fault("eos-disk-killed", &settings, Fault::InstancesKilled);
    assert_eq!(f.duplicated, 0);
}

/// Persistent stores at-least-once: the instance started after a kill restores the
/// changelogs from the killed one's last checkpoints on.
#[test]
fn at_least_once_with_persistent_stores_survives_instances_killed_and_started_again() {
    let f = run_fault("alos-disk-killed", &["default.dsl.store=rocksDB"], Fault::InstancesKilled);
    assert!(f.duplicated >= 0);
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
    // Alone on the machine, for figures that mean something.
    let _one_at_a_time = FAULTS.lock().unwrap_or_else(|p| p.into_inner());
    for protocol in ["classic", "consumer"] {
        let tag = format!("join-{protocol}");
        let (input, output, app) =
            (unique(&format!("{tag}-in")), unique(&format!("{tag}-out")), unique(&format!("{tag}-app")));
        create_topics(&[&input, &output], 4);
        let setting = format!("consumer.group.protocol={protocol}");
        let settings = [setting.as_str(), "statestore.cache.max.bytes=0"];
        let a = Instance::start(&app, &input, &output, &settings);
        let b = Instance::start(&app, &input, &output, &settings);
        wait_until("both instances have tasks", Duration::from_secs(120), || {
            a.logged("assignment taken") && b.logged("assignment taken")
        });
        let feeder = Feeder::start(&input, None);
        wait_until("counting starts", Duration::from_secs(120), || !read_all(&output).is_empty());
        let tail = Tail::start(&output, 4);
        let quiet = Instant::now();
        std::thread::sleep(Duration::from_secs(5));
        let marks = (a.log.lock().unwrap().len(), b.log.lock().unwrap().len());
        let joined = Instant::now();
        let c = Instance::start(&app, &input, &output, &settings);
        let started = Instant::now();
        while !c.logged("task restored; running") {
            if started.elapsed() > Duration::from_secs(120) {
                dump_logs(&tag, &[("A", &a), ("B", &b), ("C", &c)]);
                panic!("{tag}: the third instance has no tasks after 120 s");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_secs(5));
        let seen = tail.stop();
        let (before, gaps) =
            (longest_gaps(&seen, quiet, joined, 4), longest_gaps(&seen, joined, Instant::now(), 4));
        feeder.stop();
        // What each gave up when the third joined (each had 4 partitions: 2 input, 2 repartition).
        let revoked = |i: &Instance, mark: usize| -> Vec<String> {
            i.log.lock().unwrap()[mark..]
                .iter()
                .filter(|l| l.contains("partitions revoked"))
                .filter_map(|l| l.split("partitions=").nth(1).map(|n| n.trim().to_string()))
                .collect()
        };
        let (revoked_a, revoked_b) = (revoked(&a, marks.0), revoked(&b, marks.1));
        let golden = golden_counts(&lines_in(&input));
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
