//! Joins and table aggregations on the embedded runner, 1 thread: a windowed stream-stream
//! left join (±100 ms, 50 ms grace), a table-table left join, and a table `group_by` +
//! `aggregate`, each over N input records on 1,000 keys with slightly out-of-order
//! timestamps; and session windows (gap 10 s, grace 10 ms) counted over 100,000 keys (~10,000 live),
//! where expiring old sessions must not walk every key. Prints input records/s for each;
//! compare builds by running them in turn.
//!
//! `cargo bench -p examples --bench joins [-- RECORDS]`
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use streams_runtime::cluster::memory::MemoryCluster;
use streams_runtime::cluster::Cluster;
use streams_runtime::prelude::*;
use streams_runtime::{Headers, KafkaStreams, RunMode, StreamsConfig};

fn stream_join() -> Topology {
    let b = StreamsBuilder::new();
    let right = b.stream::<String, String>("right");
    b.stream::<String, String>("left")
        .left_join_windowed(
            right,
            JoinWindows::within(Duration::from_millis(100)).grace(Duration::from_millis(50)),
            |l, r| format!("{l}+{}", r.unwrap_or_default()),
        )
        .to("out");
    b.build()
}

fn table_join() -> Topology {
    let b = StreamsBuilder::new();
    let right = b.table::<String, String>("right");
    b.table::<String, String>("left")
        .left_join(right, |l, r| format!("{l}+{}", r.unwrap_or_default()))
        .to_stream()
        .to("out");
    b.build()
}

fn table_group_by() -> Topology {
    let b = StreamsBuilder::new();
    b.table::<String, String>("left")
        .group_by(|_, v| (v[..2].to_string(), v.len() as i64))
        .aggregate(|| 0, |_, v, a| a + v, |_, v, a| a - v)
        .to_stream()
        .to("out");
    b.build()
}

fn session_count() -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, String>("left")
        .group_by_key()
        .session(
            SessionWindows::with_inactivity_gap(Duration::from_secs(10)).grace(Duration::from_millis(10)),
        )
        .count()
        .to_stream()
        .to_with::<SessionWindowed<String>, Option<i64>>("out");
    b.build()
}

/// Records on 100,000 keys, one per ms, every tenth 0–80 ms late.
fn load_many_keys(cluster: &MemoryCluster, records: usize) {
    let mut state: u64 = 7;
    for i in 0..records {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let key = format!("k{}", (state >> 33) % 100_000);
        let late = if i % 10 == 0 { ((state >> 40) % 80) as i64 } else { 0 };
        cluster
            .produce(
                "left",
                None,
                Some(key.into_bytes()),
                Some(b"v".to_vec()),
                1_000 + i as i64 - late,
                Headers::new(),
            )
            .unwrap();
    }
}

/// Records alternating between `left` and `right`, keys `k0`..`k999`, timestamps 1 ms apart
/// with every tenth record 0–80 ms late.
fn load(cluster: &MemoryCluster, records: usize, tables_only_left: bool) {
    let mut state: u64 = 42;
    for i in 0..records {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let key = format!("k{}", (state >> 33) % 1000);
        let value = format!("v{}", (state >> 20) % 97);
        let late = if i % 10 == 0 { ((state >> 40) % 80) as i64 } else { 0 };
        let topic = if tables_only_left || i % 2 == 0 { "left" } else { "right" };
        cluster
            .produce(
                topic,
                None,
                Some(key.into_bytes()),
                Some(value.into_bytes()),
                1_000 + i as i64 - late,
                Headers::new(),
            )
            .unwrap();
    }
}

fn run(name: &str, topology: Topology, records: usize, only_left: bool) {
    run_loaded(name, topology, records, |cluster| load(cluster, records, only_left));
}

fn run_loaded(name: &str, topology: Topology, records: usize, load: impl FnOnce(&MemoryCluster)) {
    let cluster = MemoryCluster::with_auto_create(Some(1));
    cluster.create_topic("left", 1).unwrap();
    cluster.create_topic("right", 1).unwrap();
    load(&cluster);
    let streams = KafkaStreams::new(topology, StreamsConfig::new("bench"), Arc::new(cluster.clone()));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    runtime.block_on(streams.run(RunMode::UntilDrained)).unwrap();
    let secs = started.elapsed().as_secs_f64();
    let out = cluster.records_in_order("out").len();
    println!(
        "{name:<28} {records} records in {secs:.2} s: {:>9.0} records/s ({out} out)",
        records as f64 / secs
    );
}

fn main() {
    let records: usize = std::env::args().filter_map(|a| a.parse().ok()).next().unwrap_or(200_000);
    run("stream-stream left join", stream_join(), records, false);
    run("table-table left join", table_join(), records, false);
    run("table group_by + aggregate", table_group_by(), records, true);
    run_loaded("session count, 100k keys", session_count(), records, |c| load_many_keys(c, records));
}
