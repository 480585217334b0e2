//! What the tests on a real broker share: where it is, fresh topic names, writing input and
//! reading output back with an independent consumer.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use streams_runtime::cluster::kafka::KafkaClients;
use streams_runtime::{Headers, RawRecord, StreamsConfig, Topology};

thread_local! {
    /// A broker of this thread's own (a fault test that restarts it), instead of the shared one.
    static OWN_BROKER: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Makes this thread's helpers use the broker at `bootstrap` instead of the shared one.
pub fn use_own_broker(bootstrap: &str) {
    OWN_BROKER.with(|b| *b.borrow_mut() = Some(bootstrap.to_string()));
}

/// The broker's address: the thread's own broker if it set one, else `KAFKA_BOOTSTRAP`, which
/// `scripts/kafka-broker.sh run` sets.
///
/// # Panics
/// If it is not set: these tests need a broker, and do not pass without one.
pub fn bootstrap() -> String {
    if let Some(own) = OWN_BROKER.with(|b| b.borrow().clone()) {
        return own;
    }
    std::env::var("KAFKA_BOOTSTRAP").unwrap_or_else(|_| {
        panic!(
            "KAFKA_BOOTSTRAP is not set: run the tests with a broker, \
             `scripts/kafka-broker.sh run cargo test --workspace`"
        )
    })
}

/// A record's key and value bytes (`None`: null) and timestamp.
pub type Encoded = (Option<Vec<u8>>, Option<Vec<u8>>, i64);

/// A name no other test or earlier run used: `name-<pid>-<n>-<ms>`.
pub fn unique(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() % 100_000_000;
    format!("{name}-{}-{}-{ms}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

/// A configuration for `application_id` on the test broker; commits every 100 ms.
pub fn config(application_id: &str) -> StreamsConfig {
    let mut c = StreamsConfig::new(application_id);
    c.set("bootstrap.servers", bootstrap()).set("commit.interval.ms", "100");
    c
}

/// Clients for the test broker.
pub fn clients() -> KafkaClients {
    KafkaClients::new(&config("test-clients")).expect("clients")
}

/// Creates topics with `partitions` partitions each.
pub fn create_topics(topics: &[&str], partitions: u32) {
    create_replicated_topics(topics, partitions, 1);
}

/// Creates topics with `partitions` partitions, each on `replicas` brokers.
pub fn create_replicated_topics(topics: &[&str], partitions: u32, replicas: i32) {
    let topics: Vec<(String, u32, _)> =
        topics.iter().map(|t| (t.to_string(), partitions, KafkaClients::kept_configs())).collect();
    block_on(clients().create_topics(&topics, replicas)).expect("create topics");
}

/// Runs a future to completion on a fresh runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// Runs a future on a multi-threaded runtime (the runner's threads are blocking tasks).
pub fn block_on_multi<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(f)
}

/// Writes `(key, value, timestamp)` records (already encoded) to `topic`, placed by murmur2
/// of the key as a Java producer would, and waits until they are acknowledged.
pub fn produce(topic: &str, records: &[Encoded]) {
    let producer = clients().producer("test-producer").expect("producer");
    for (key, value, timestamp) in records {
        producer
            .send(topic, None, key.as_deref(), value.as_deref(), *timestamp, &Headers::new())
            .expect("send");
    }
    producer.flush().expect("flush");
}

/// Every record of `topic`, read from the beginning by an independent consumer.
pub fn read_all(topic: &str) -> Vec<RawRecord> {
    read_all_with(topic, clients())
}

/// Clients whose consumers read only committed transactions (what an exactly-once
/// application's downstream sees).
pub fn committed_clients() -> KafkaClients {
    let mut c = config("test-committed-clients");
    c.set("consumer.isolation.level", "read_committed");
    KafkaClients::new(&c).expect("clients")
}

/// Every committed record of `topic` (aborted transactions left out).
pub fn read_committed(topic: &str) -> Vec<RawRecord> {
    read_all_with(topic, committed_clients())
}

/// Where the committed records of `topic` end, over all its partitions (the sum of their
/// last stable offsets): it grows whenever a transaction writing to it commits. `None` if a
/// partition does not answer within 2 s (the broker just back, or frozen).
pub fn committed_end(topic: &str) -> Option<u64> {
    use rdkafka::consumer::Consumer as _;
    let clients = committed_clients();
    let partitions = *clients.topics().ok()?.get(topic)?;
    let consumer = clients.plain_consumer(&unique("test-ends")).expect("consumer");
    let mut sum = 0;
    for p in 0..partitions as i32 {
        let (_, high) = consumer.fetch_watermarks(topic, p, std::time::Duration::from_secs(2)).ok()?;
        sum += u64::try_from(high).ok()?;
    }
    Some(sum)
}

/// Where the records of `topic` start, over all its partitions (the sum of their low
/// watermarks): it grows when records are deleted.
pub fn log_start(topic: &str) -> u64 {
    use rdkafka::consumer::Consumer as _;
    let clients = clients();
    let partitions = clients.topics().expect("metadata")[topic];
    let consumer = clients.plain_consumer(&unique("test-starts")).expect("consumer");
    (0..partitions as i32)
        .map(|p| {
            consumer.fetch_watermarks(topic, p, std::time::Duration::from_secs(5)).expect("watermarks").0
                as u64
        })
        .sum()
}

fn read_all_with(topic: &str, clients: KafkaClients) -> Vec<RawRecord> {
    let partitions = clients.topics().expect("metadata")[topic];
    let consumer = clients.plain_consumer(&unique("test-reader")).expect("consumer");
    let mut records = Vec::new();
    let all: Vec<u32> = (0..partitions).collect();
    clients
        .read_to_end(&consumer, topic, &all, |r| {
            records.push(r);
            Ok(())
        })
        .expect("read back");
    records
}

/// The last value of each key of a topic of `String` keys and `i64` values (a count table
/// written as a stream), and how many records it holds.
pub fn final_counts(topic: &str) -> (BTreeMap<String, i64>, usize) {
    counts_of(&read_all(topic))
}

/// As [`final_counts`], from committed records only.
pub fn final_committed_counts(topic: &str) -> (BTreeMap<String, i64>, usize) {
    counts_of(&read_committed(topic))
}

fn counts_of(records: &[RawRecord]) -> (BTreeMap<String, i64>, usize) {
    let mut counts = BTreeMap::new();
    for r in records {
        let key = String::from_utf8(r.key.clone().expect("a key")).expect("utf-8 key");
        let value = i64::from_be_bytes(r.value.clone().expect("a value").try_into().expect("8 bytes"));
        counts.insert(key, value);
    }
    (counts, records.len())
}

/// Word count, written with the builder (the same stages as `examples::wordcount`), on
/// chosen topics.
pub fn wordcount_topology(input: &str, output: &str) -> Topology {
    wordcount_topology_panicking_once(input, output, None)
}

/// Word count whose line-splitting closure panics the first time (in this process) it
/// meets a line with `word` in it.
pub fn wordcount_topology_panicking_once(input: &str, output: &str, word: Option<String>) -> Topology {
    let armed = std::sync::atomic::AtomicBool::new(word.is_some());
    examples::wordcount::topology_splitting_with(input, output, move |line| {
        let hit = word.as_ref().is_some_and(|w| line.split(' ').any(|x| x == w));
        if hit && armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            panic!("a closure failed on `{line}`");
        }
        examples::wordcount::words(&line)
    })
}

/// `n` lines of text drawn from the word count sample, varied so counts differ by key.
pub fn text_lines(n: usize) -> Vec<String> {
    let sample = examples::wordcount::SAMPLE;
    (0..n).map(|i| format!("{} word{}", sample[i % sample.len()], i % 37)).collect()
}

/// Lines as null-keyed `String` records, a millisecond apart.
pub fn line_records(lines: &[String], from_ts: i64) -> Vec<Encoded> {
    lines.iter().enumerate().map(|(i, l)| (None, Some(l.as_bytes().to_vec()), from_ts + i as i64)).collect()
}

/// A broker of a test's own, started (and stopped when dropped) by `scripts/kafka-broker.sh`
/// on its own ports, so that a test can stop and start it while others use the shared one.
pub struct OwnBroker {
    port: u16,
}

impl OwnBroker {
    /// Starts a broker on 127.0.0.1:`port` (its controller on `port + 1`).
    ///
    /// Empty: its data from earlier tests is removed first. A transaction that hung on an
    /// earlier test's broker (see [`abort_hanging`]) may sit on a `__consumer_offsets`
    /// partition that any group's offsets share, and would hold a later test's group back.
    pub fn start(port: u16) -> OwnBroker {
        let broker = OwnBroker { port };
        broker.run_script("stop");
        remove_data(&format!("data-{port}"));
        broker.run_script("start");
        broker
    }

    /// Its `host:port`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Stops it (SIGTERM, as a rolling restart does).
    pub fn stop(&self) {
        self.run_script("stop");
    }

    /// Kills it (SIGKILL): no controlled shutdown, as when its host crashes; what it wrote to
    /// its files stays (the page cache survives the process).
    pub fn crash(&self) {
        self.run_script("crash");
    }

    /// Starts it again, with the data it had.
    pub fn restart(&self) {
        self.run_script("start");
    }

    /// Freezes it (SIGSTOP) for `how_long`, then lets it go on (SIGCONT): a broker stalled by
    /// a long GC pause or a frozen VM, its connections open but silent.
    pub fn freeze(&self, how_long: std::time::Duration) {
        let home = std::env::var("KAFKA_HOME").unwrap_or_else(|_| {
            format!("{}/.cache/streams-rs/kafka-4.4.0", std::env::var("HOME").expect("HOME"))
        });
        let pid =
            std::fs::read_to_string(format!("{home}/broker-{}.pid", self.port)).expect("the broker's pid");
        let signal = |s: &str| {
            let status = std::process::Command::new("kill").args([s, pid.trim()]).status().expect("kill");
            assert!(status.success(), "kill {s} {pid}");
        };
        signal("-STOP");
        std::thread::sleep(how_long);
        signal("-CONT");
    }

    /// See [`abort_hanging`].
    pub fn abort_hanging(&self) -> Vec<String> {
        abort_hanging(&self.bootstrap())
    }

    fn run_script(&self, what: &str) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/kafka-broker.sh");
        let status = std::process::Command::new(script)
            .arg(what)
            .env("PORT", self.port.to_string())
            .env("CONTROLLER_PORT", (self.port + 1).to_string())
            .status()
            .expect("run scripts/kafka-broker.sh");
        assert!(status.success(), "scripts/kafka-broker.sh {what} failed on port {}", self.port);
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        self.run_script("stop");
    }
}

/// Three brokers of a test's own (`scripts/kafka-cluster.sh`, a KRaft quorum of three), for
/// a rolling restart: stopped when dropped.
pub struct OwnCluster {
    base_port: u16,
}

impl OwnCluster {
    /// Starts three nodes on 127.0.0.1:`base_port`, `+2`, `+4` (controllers one above each).
    /// Empty, as [`OwnBroker::start`].
    pub fn start(base_port: u16) -> OwnCluster {
        let cluster = OwnCluster { base_port };
        cluster.run_script(&["stop"]);
        remove_data(&format!("cluster-{base_port}"));
        cluster.run_script(&["start"]);
        cluster
    }

    /// The three nodes' `host:port`s, comma-separated.
    pub fn bootstrap(&self) -> String {
        (0..3).map(|i| format!("127.0.0.1:{}", self.base_port + 2 * i)).collect::<Vec<_>>().join(",")
    }

    /// Stops node `n` (1 to 3) with SIGTERM: a controlled shutdown, as a rolling restart does.
    pub fn stop_node(&self, n: u32) {
        self.run_script(&["stop-node", &n.to_string()]);
    }

    /// Starts node `n` again, with its data, and waits until it answers.
    pub fn start_node(&self, n: u32) {
        self.run_script(&["start-node", &n.to_string()]);
    }

    fn run_script(&self, args: &[&str]) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/kafka-cluster.sh");
        let status = std::process::Command::new(script)
            .args(args)
            .env("BASE_PORT", self.base_port.to_string())
            .status()
            .expect("run scripts/kafka-cluster.sh");
        assert!(status.success(), "scripts/kafka-cluster.sh {args:?} failed on port {}", self.base_port);
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        self.run_script(&["stop"]);
    }
}

/// Removes `name` under `$KAFKA_HOME` (`scripts/kafka-broker.sh`'s, by default
/// `~/.cache/streams-rs/kafka-4.4.0`): a stopped broker's data.
fn remove_data(name: &str) {
    let home = std::env::var("KAFKA_HOME").unwrap_or_else(|_| {
        format!("{}/.cache/streams-rs/kafka-4.4.0", std::env::var("HOME").expect("HOME"))
    });
    let path = std::path::Path::new(&home).join(name);
    if path.exists() {
        std::fs::remove_dir_all(&path).unwrap_or_else(|e| panic!("cannot remove {}: {e}", path.display()));
    }
}

/// Aborts the transactions open for over a minute on the broker at `bootstrap` (one of
/// `scripts/kafka-broker.sh`'s), as an operator does with `kafka-transactions.sh find-hanging`
/// and `abort` (`scripts/kafka-broker.sh abort-hanging`); returns what it aborted, one line
/// per partition.
pub fn abort_hanging(bootstrap: &str) -> Vec<String> {
    broker_script(bootstrap, &["abort-hanging"])
}

/// Aborts the transaction open on `topic`-`partition` from `start_offset` (Kafka's
/// `kafka-transactions.sh abort`), on the broker at `bootstrap` (one of
/// `scripts/kafka-broker.sh`'s).
pub fn abort_transaction(bootstrap: &str, topic: &str, partition: u32, start_offset: u64) -> Vec<String> {
    broker_script(bootstrap, &["abort-transaction", topic, &partition.to_string(), &start_offset.to_string()])
}

/// Runs `scripts/kafka-broker.sh ARGS` for the broker at `bootstrap`; its output's lines.
fn broker_script(bootstrap: &str, args: &[&str]) -> Vec<String> {
    let port: u16 = bootstrap.rsplit(':').next().and_then(|p| p.parse().ok()).expect("host:port");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/kafka-broker.sh");
    let out = std::process::Command::new(script)
        .args(args)
        .env("PORT", port.to_string())
        .env("CONTROLLER_PORT", (port + 1).to_string())
        .output()
        .expect("run scripts/kafka-broker.sh");
    assert!(out.status.success(), "kafka-broker.sh {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}
