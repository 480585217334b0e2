//! Word count over ~10 MB of text: the embedded runner (1 thread; and 2 threads on 4
//! partitions), each also with the counts pre-aggregated before the repartition topic
//! (`pre_aggregated`), and the TestDriver path, against a hand-written single-threaded loop
//! that splits and counts the same text into a `HashMap` (the no-framework limit). Prints
//! words/s of each and the ratios, measured in one run.
//!
//! `cargo bench -p examples --bench wordcount [-- MEGABYTES]`
#![allow(missing_docs)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use examples::wordcount;
use streams_runtime::cluster::memory::MemoryCluster;
use streams_runtime::cluster::Cluster;
use streams_runtime::prelude::*;
use streams_runtime::{Headers, KafkaStreams, RunMode, StreamsConfig};

fn hand_loop(lines: &[String]) -> HashMap<String, i64> {
    let mut counts = HashMap::new();
    for line in lines {
        for word in wordcount::words(line) {
            if !word.is_empty() && word != "the" {
                *counts.entry(word).or_insert(0) += 1;
            }
        }
    }
    counts
}

const STORE: &str = "KSTREAM-AGGREGATE-STATE-STORE-0000000004";

/// Pipes every line through a fresh driver; the driver is returned so that freeing the
/// records it keeps is not timed.
fn driver(lines: &[String]) -> (usize, TestDriver) {
    let driver = TestDriver::new(wordcount::topology());
    let input = driver.input::<(), String>(wordcount::INPUT);
    for (i, line) in lines.iter().enumerate() {
        input.pipe((), line.clone(), i as i64);
    }
    (driver.key_value_store::<String, i64>(STORE).map_or(0, |s| s.len()), driver)
}

/// A cluster holding the input, before the clock starts.
fn loaded(lines: &[String], partitions: u32) -> MemoryCluster {
    let cluster = MemoryCluster::with_auto_create(Some(partitions));
    cluster.create_topic(wordcount::INPUT, partitions).unwrap();
    for (i, line) in lines.iter().enumerate() {
        cluster
            .produce(wordcount::INPUT, None, None, Some(line.as_bytes().to_vec()), i as i64, Headers::new())
            .unwrap();
    }
    cluster
}

/// Runs until the input and the repartition topic are drained: from the first input record
/// to the last output record.
fn runner(cluster: &MemoryCluster, threads: usize, pre_aggregated: bool) -> usize {
    let mut config = StreamsConfig::new(if pre_aggregated { "bench-pre" } else { "bench" });
    config.set("num.stream.threads", threads.to_string());
    let topology = if pre_aggregated {
        wordcount::pre_aggregated_topology_on(wordcount::INPUT, wordcount::OUTPUT)
    } else {
        wordcount::topology()
    };
    let streams = KafkaStreams::new(topology, config, Arc::new(cluster.clone()));
    tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    streams.key_value_store::<String, i64>(STORE).map_or(0, |s| s.len())
}

fn main() {
    let megabytes: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10);
    let lines = wordcount::synthetic_text(megabytes << 20);
    let words: usize =
        lines.iter().map(|l| wordcount::words(l).iter().filter(|w| !w.is_empty()).count()).sum();
    println!("input: {} MB, {} lines, {} words", megabytes, lines.len(), words);
    let time = |name: &str, f: &dyn Fn() -> usize| {
        let start = Instant::now();
        let distinct = f();
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{name:<34} {secs:>7.2} s {:>12.0} words/s  ({distinct} distinct words)",
            words as f64 / secs
        );
        secs
    };
    // `WORDCOUNT_ONLY_RUNNER=THREADS`: that runner alone (1 partition for 1 thread, else two per
    // thread), for a profiler.
    if let Ok(threads) = std::env::var("WORDCOUNT_ONLY_RUNNER") {
        let threads: usize = threads.parse().unwrap_or(1);
        let cluster = loaded(&lines, if threads == 1 { 1 } else { 2 * threads as u32 });
        time(&format!("runner, {threads} thread(s)"), &|| runner(&cluster, threads, false));
        return;
    }
    let hand = time("hand-written loop (HashMap)", &|| hand_loop(&lines).len());
    let one = loaded(&lines, 1);
    let runner1 = time("runner, 1 thread, 1 partition", &|| runner(&one, 1, false));
    let pre1 = time("  pre-aggregated", &|| runner(&one, 1, true));
    drop(one);
    let four = loaded(&lines, 4);
    let runner2 = time("runner, 2 threads, 4 partitions", &|| runner(&four, 2, false));
    let pre2 = time("  pre-aggregated", &|| runner(&four, 2, true));
    drop(four);
    let kept = std::cell::RefCell::new(None);
    let test_driver = time("TestDriver, 1 partition", &|| {
        let (n, d) = driver(&lines);
        *kept.borrow_mut() = Some(d);
        n
    });
    drop(kept);
    println!("runner 1 thread / hand loop:   {:.1} %", 100.0 * hand / runner1);
    println!("runner 2 threads / hand loop:  {:.1} %", 100.0 * hand / runner2);
    println!("TestDriver / hand loop:        {:.1} %", 100.0 * hand / test_driver);
    println!("pre-aggregated / plain, 1 thread:  {:.2}x", runner1 / pre1);
    println!("pre-aggregated / plain, 2 threads: {:.2}x", runner2 / pre2);
}
