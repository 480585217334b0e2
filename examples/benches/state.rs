//! In-memory vs persistent key-value stores (`default.dsl.store`), on the embedded runner:
//! word count over N distinct words (4 partitions, 1 thread), so the count's store ends with
//! N keys. Per store kind, in a process of its own (for its peak RSS):
//! - the first run's processing rate (input lines/s);
//! - a clean restart: changelog records restored and the time until every task runs;
//! - a restart without checkpoints (as after a crash, exactly-once): the full restore, in
//!   records/s.
//!
//! `cargo bench -p examples --bench state [-- WORDS]` (default 1,000,000)
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use examples::wordcount;
use streams_runtime::cluster::memory::MemoryCluster;
use streams_runtime::cluster::Cluster;
use streams_runtime::{Headers, KafkaStreams, RunMode, State, StreamsConfig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let words: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    if let Some(kind) = args.iter().find_map(|a| a.strip_prefix("--kind=")) {
        return measure(kind, words);
    }
    println!("word count over {words} distinct words, 4 partitions, 1 thread, embedded cluster");
    for kind in ["in_memory", "rocksDB"] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .arg(format!("--kind={kind}"))
            .arg(words.to_string())
            .output()
            .expect("the bench runs itself");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        if !out.status.success() {
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
        }
    }
}

fn measure(kind: &str, words: u64) {
    let dir = std::env::temp_dir().join(format!("streams-state-bench-{}", std::process::id()));
    let cluster = MemoryCluster::with_auto_create(Some(4));
    cluster.create_topic(wordcount::INPUT, 4).unwrap();
    for i in 0..words {
        let line = format!("w{i:08}");
        cluster
            .produce(wordcount::INPUT, None, None, Some(line.into_bytes()), i as i64, Headers::new())
            .unwrap();
    }
    let mut config = StreamsConfig::new("state-bench");
    config
        .set("default.dsl.store", kind)
        .set("state.dir", dir.to_str().unwrap())
        .set("commit.interval.ms", "1000")
        .set("metrics.recording.level", "DEBUG");
    let streams = KafkaStreams::new(wordcount::topology(), config.clone(), Arc::new(cluster.clone()));
    let started = Instant::now();
    block_on(streams.run(RunMode::UntilDrained));
    let first = started.elapsed();
    drop(streams);
    let clean = restart(&cluster, &config);
    // As after a crash under exactly-once: no checkpoint, so every store is rebuilt.
    for entry in std::fs::read_dir(dir.join("state-bench")).into_iter().flatten().flatten() {
        let _ = std::fs::remove_file(entry.path().join(".checkpoint"));
    }
    let full = restart(&cluster, &config);
    println!(
        "{kind:>9}: first run {:>7.0} lines/s | clean restart: {:>7} restored, running after {:>6.2} s | no checkpoint: {:>7} restored at {:>7.0} records/s | peak RSS {} MB",
        words as f64 / first.as_secs_f64(),
        clean.0,
        clean.1.as_secs_f64(),
        full.0,
        full.0 as f64 / full.1.as_secs_f64(),
        peak_rss_mb(),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts the application again (no new input): the records its tasks restored, and the
/// time until they all run.
fn restart(cluster: &MemoryCluster, config: &StreamsConfig) -> (u64, Duration) {
    let streams =
        Arc::new(KafkaStreams::new(wordcount::topology(), config.clone(), Arc::new(cluster.clone())));
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
