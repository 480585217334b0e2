//! In-memory vs persistent key-value stores (`default.dsl.store`), on the embedded runner:
//! word count over N distinct words (4 partitions, 1 thread), so the count's store ends with
//! N keys. Per store kind, in a process of its own (for its peak RSS):
//! - the first run's processing rate (input lines/s);
//! - a clean restart: changelog records restored and the time until every task runs;
//! - a restart without checkpoints (as after a crash, exactly-once): the full restore, in
//!   records/s;
//! - on Kafka, at-least-once: N/4 new words, an instance killed (`SIGKILL`) while it counts
//!   them, and the records the next start restores (persistent stores: the changelog since
//!   the last checkpoint, at most a commit interval's worth).
//!
//! `cargo bench -p examples --bench state [-- WORDS]` (default 1,000,000); with a broker
//! (`scripts/kafka-broker.sh run cargo bench -p examples --bench state -- --kafka [WORDS]`)
//! the same on Kafka, topics and application ids of each run its own.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use examples::wordcount;
use streams_runtime::cluster::kafka::KafkaClients;
use streams_runtime::cluster::memory::MemoryCluster;
use streams_runtime::cluster::Cluster;
use streams_runtime::{Headers, KafkaStreams, RunMode, State, StreamsConfig};

/// Where a run's application runs: the embedded cluster, or a broker.
#[derive(Clone)]
enum Backend {
    Embedded(MemoryCluster),
    Kafka { bootstrap: String, input: String, output: String },
}

impl Backend {
    fn streams(&self, config: &StreamsConfig) -> KafkaStreams {
        match self {
            Backend::Embedded(cluster) => {
                KafkaStreams::new(wordcount::topology(), config.clone(), Arc::new(cluster.clone()))
            }
            Backend::Kafka { bootstrap, input, output } => {
                let mut config = config.clone();
                config.set("bootstrap.servers", bootstrap);
                // The same word count, on this run's own topics.
                KafkaStreams::connect(wordcount::topology_on(input, output), config).expect("connects")
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let words: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let kafka = args.iter().any(|a| a == "--kafka");
    if let Some(child) = args.iter().find_map(|a| a.strip_prefix("--crash-child=")) {
        return run_until_killed(child);
    }
    if let Some(kind) = args.iter().find_map(|a| a.strip_prefix("--kind=")) {
        return measure(kind, words, kafka);
    }
    let on = if kafka { "Kafka (one broker)" } else { "the embedded cluster" };
    println!("word count over {words} distinct words, 4 partitions, 1 thread, on {on}");
    for kind in ["in_memory", "rocksDB"] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .arg(format!("--kind={kind}"))
            .args(kafka.then_some("--kafka"))
            .arg(words.to_string())
            .output()
            .expect("the bench runs itself");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

fn measure(kind: &str, words: u64, kafka: bool) {
    let tag = std::process::id();
    let dir = std::env::temp_dir().join(format!("streams-state-bench-{tag}"));
    let lines = (0..words).map(|i| format!("w{i:08}").into_bytes());
    let backend = if kafka {
        let bootstrap = std::env::var("KAFKA_BOOTSTRAP").expect("KAFKA_BOOTSTRAP names the broker");
        let (input, output) = (format!("state-bench-in-{tag}"), format!("state-bench-out-{tag}"));
        let mut config = StreamsConfig::new("state-bench-setup");
        config.set("bootstrap.servers", &bootstrap);
        let clients = KafkaClients::new(&config).unwrap();
        let topics = [(input.clone(), 4, Default::default()), (output.clone(), 4, Default::default())];
        tokio::runtime::Runtime::new().unwrap().block_on(clients.create_topics(&topics, -1)).unwrap();
        let producer = clients.producer("state-bench").unwrap();
        for (i, line) in lines.enumerate() {
            producer.send(&input, None, None, Some(&line), 1_000 + i as i64, &Headers::new()).unwrap();
        }
        producer.flush().unwrap();
        Backend::Kafka { bootstrap, input, output }
    } else {
        let cluster = MemoryCluster::with_auto_create(Some(4));
        cluster.create_topic(wordcount::INPUT, 4).unwrap();
        for (i, line) in lines.enumerate() {
            cluster.produce(wordcount::INPUT, None, None, Some(line), i as i64, Headers::new()).unwrap();
        }
        Backend::Embedded(cluster)
    };
    let mut config = StreamsConfig::new(&format!("state-bench-{tag}"));
    config
        .set("default.dsl.store", kind)
        .set("state.dir", dir.to_str().unwrap())
        .set("commit.interval.ms", "1000")
        .set("metrics.recording.level", "DEBUG");
    let streams = backend.streams(&config);
    let started = Instant::now();
    block_on(streams.run(RunMode::UntilDrained));
    let first = started.elapsed();
    drop(streams);
    let clean = restart(&backend, &config);
    // As after a crash under exactly-once: no checkpoint, so every store is rebuilt.
    for entry in std::fs::read_dir(dir.join(format!("state-bench-{tag}"))).into_iter().flatten().flatten() {
        let _ = std::fs::remove_file(entry.path().join(".checkpoint"));
    }
    let full = restart(&backend, &config);
    let crash = match &backend {
        Backend::Kafka { input, output, .. } => {
            let (restored, of) = crash_and_restart(&backend, &config, input, output, kind, &dir, words);
            format!(" | kill -9 mid-run: {restored} restored (of {of} in the changelogs)")
        }
        Backend::Embedded(_) => String::new(),
    };
    println!(
        "{kind:>9}: first run {:>7.0} lines/s | clean restart: {:>7} restored, running after {:>6.2} s | no checkpoint: {:>7} restored at {:>7.0} records/s | peak RSS {} MB{crash}",
        words as f64 / first.as_secs_f64(),
        clean.0,
        clean.1.as_secs_f64(),
        full.0,
        full.0 as f64 / full.1.as_secs_f64(),
        peak_rss_mb(),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// On Kafka: `words / 4` new words, counted by a child process killed (`SIGKILL`) once it
/// has written a quarter of them to the changelog (mid-run); then a start here. Returns the records it restored, and the changelogs' size.
fn crash_and_restart(
    backend: &Backend,
    config: &StreamsConfig,
    input: &str,
    output: &str,
    kind: &str,
    dir: &std::path::Path,
    words: u64,
) -> (u64, u64) {
    let Backend::Kafka { bootstrap, .. } = backend else { unreachable!("Kafka only") };
    let mut setup = StreamsConfig::new("state-bench-setup");
    setup.set("bootstrap.servers", bootstrap);
    let clients = KafkaClients::new(&setup).unwrap();
    let producer = clients.producer("state-bench").unwrap();
    for i in words..words + words / 4 {
        let line = format!("w{i:08}").into_bytes();
        producer.send(input, None, None, Some(&line), 1_000 + i as i64, &Headers::new()).unwrap();
    }
    producer.flush().unwrap();
    let app = config.get("application.id").unwrap().to_string();
    let changelog = format!("{app}-KSTREAM-AGGREGATE-STATE-STORE-0000000004-changelog");
    let ends = clients.plain_consumer("state-bench-ends").unwrap();
    let logged = || -> i64 {
        (0..4)
            .map(|p| {
                let watermarks = rdkafka::consumer::Consumer::fetch_watermarks(
                    &ends,
                    &changelog,
                    p,
                    Duration::from_secs(10),
                );
                watermarks.unwrap().1
            })
            .sum()
    };
    let before = logged();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .arg(format!("--crash-child={input},{output},{app},{kind},{}", dir.display()))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut ready)
        .unwrap();
    let started = Instant::now();
    while logged() < before + (words / 16) as i64 && started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let (restored, _) = restart(backend, config);
    (restored, logged() as u64)
}

/// The child of [`crash_and_restart`]: runs until killed, saying when it runs.
fn run_until_killed(spec: &str) {
    let parts: Vec<&str> = spec.splitn(5, ',').collect();
    let [input, output, app, kind, dir] = parts[..] else { panic!("--crash-child=IN,OUT,APP,KIND,DIR") };
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP").expect("KAFKA_BOOTSTRAP names the broker");
    let backend = Backend::Kafka { bootstrap, input: input.into(), output: output.into() };
    let mut config = StreamsConfig::new(app);
    config.set("default.dsl.store", kind).set("state.dir", dir).set("commit.interval.ms", "1000");
    let streams = Arc::new(backend.streams(&config));
    let running = streams.clone();
    std::thread::spawn(move || block_on(running.run(RunMode::UntilShutdown)));
    while streams.state() != State::Running {
        std::thread::sleep(Duration::from_millis(1));
    }
    println!("running");
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// Starts the application again (no new input): the records its tasks restored, and the
/// time until they all run.
fn restart(backend: &Backend, config: &StreamsConfig) -> (u64, Duration) {
    let streams = Arc::new(backend.streams(config));
    let started = Instant::now();
    let running = {
        let streams = streams.clone();
        std::thread::spawn(move || block_on(streams.run(RunMode::UntilShutdown)))
    };
    while streams.state() != State::Running {
        std::thread::sleep(Duration::from_millis(1));
    }
    let took = started.elapsed();
    let restored: f64 = streams
        .metrics()
        .iter()
        .filter(|m| m.name.name == "restore-total")
        .filter_map(|m| m.value.number())
        .sum();
    streams.shutdown();
    running.join().unwrap();
    (restored as u64, took)
}

fn block_on(run: impl std::future::Future<Output = Result<(), streams_runtime::StreamsError>>) {
    tokio::runtime::Runtime::new().unwrap().block_on(run).expect("the run succeeds");
}

fn peak_rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}
