//! Hopping-window aggregation (5 s windows advancing 1 s, 1 s grace) over 1 million trades
//! on the embedded runner, against hand-written loops doing the same window assignment and
//! aggregation into a `HashMap` (and, second, also JSON-encoding every update as the runner
//! writes it). Prints trades/s and the ratios, measured in one run.
//!
//! `cargo bench -p examples --bench hopping [-- TRADES]`
#![allow(missing_docs)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use examples::stockstats::{self, Trade, TradeStats};
use streams_runtime::cluster::memory::MemoryCluster;
use streams_runtime::cluster::Cluster;
use streams_runtime::prelude::*;
use streams_runtime::{Headers, KafkaStreams, RunMode, StreamsConfig};

fn windows() -> TimeWindows {
    TimeWindows::of(Duration::from_secs(5)).advance_by(Duration::from_secs(1)).grace(Duration::from_secs(1))
}

fn topology() -> Topology {
    topology! {
        stream::<String, Json<Trade>>("stocks")
            |> group_by_key
            |> window(5s, 1s, grace = 1s)
            |> aggregate(TradeStats::default, |_ticker, trade, stats| stats.add(trade))
            |> to_stream
            |> map_values(TradeStats::with_avg_price)
            |> to("stockstats-output");
    }
}

fn hand_loop(trades: &[(i64, Trade)], encode: bool) -> usize {
    let w = windows();
    let mut stats: HashMap<(String, i64), TradeStats> = HashMap::new();
    let mut observed = i64::MIN;
    let mut written = 0usize;
    for (ts, trade) in trades {
        observed = observed.max(*ts);
        for window in w.windows_for(*ts) {
            if window.end <= observed - w.grace_ms() {
                continue;
            }
            let entry = stats.entry((trade.ticker.clone(), window.start)).or_default();
            *entry = std::mem::take(entry).add(trade.clone());
            if encode {
                written += serde_json::to_vec(&entry.clone().with_avg_price()).unwrap().len();
            }
        }
        // expire windows older than size + grace
        if stats.len() > 100_000 {
            stats.retain(|(_, start), _| *start > observed - w.retention_ms());
        }
    }
    stats.len() + written
}

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let trades = stockstats::trades((n / 10) as i64);
    println!("input: {} trades, 10 tickers, one trade per ticker per second", trades.len());
    let time = |name: &str, f: &dyn Fn() -> usize| {
        let start = Instant::now();
        std::hint::black_box(f());
        let secs = start.elapsed().as_secs_f64();
        println!("{name:<44} {secs:>7.2} s {:>12.0} trades/s", trades.len() as f64 / secs);
        secs
    };
    let hand = time("hand-written loop, aggregation only", &|| hand_loop(&trades, false));
    let hand_json = time("hand-written loop, + JSON of every update", &|| hand_loop(&trades, true));
    let cluster = MemoryCluster::with_auto_create(Some(1));
    cluster.create_topic(stockstats::INPUT, 1).unwrap();
    for (ts, t) in &trades {
        let value = serde_json::to_vec(t).unwrap();
        cluster
            .produce(
                stockstats::INPUT,
                None,
                Some(t.ticker.clone().into_bytes()),
                Some(value),
                *ts,
                Headers::new(),
            )
            .unwrap();
    }
    let runner = time("runner, 1 thread (JSON in, JSON out)", &|| {
        let streams = KafkaStreams::new(topology(), StreamsConfig::new("hop"), Arc::new(cluster.clone()));
        tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
        streams.processed_records() as usize
    });
    // The record cache (10 MiB, commit every 30 s) coalesces a window's updates.
    println!(
        "runner output records: {} (the hand loops: one per update, {})",
        cluster.end_offset("stockstats-output", 0),
        trades.len() * 5
    );
    println!("runner / hand loop (aggregation only):  {:.1} %", 100.0 * hand / runner);
    println!("runner / hand loop (+ JSON output):     {:.1} %", 100.0 * hand_json / runner);
}
