//! A 5-stage stateless chain through the `TestDriver`'s processing path, against the same
//! five closures in hand-written loops: one over typed records, one that also decodes,
//! encodes and partitions as the driver must (the no-framework limit for the same work).
//! The pass-through topology (source straight to sink) measures the driver alone, so the
//! chain's own cost is `test_driver - test_driver_passthrough`, and `test_driver_hand_fused`
//! runs the five closures as one hand-written closure on the same path;
//! `test_driver_processor_api` runs them in one `Processor` (`KStream::process`).
//!
//! `cargo bench -p streams-runtime --bench stateless_chain`
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use streams_runtime::partitioner::partition_for_key;
use streams_runtime::prelude::*;

const RECORDS: usize = 100_000;

// The five stages, shared by every variant.
fn keep(_: &String, v: &i64) -> bool {
    v % 7 != 0
}
fn scale(v: i64) -> i64 {
    v * 3 + 1
}
fn drop_fives(_: &String, v: &i64) -> bool {
    v % 5 == 0
}
fn halve(k: String, v: i64) -> (String, i64) {
    (k, v / 2)
}
fn minus_one(v: i64) -> i64 {
    v - 1
}

fn records() -> Vec<(String, i64)> {
    (0..RECORDS).map(|i| (format!("key-{}", i % 1000), i as i64)).collect()
}

/// The same source and sink with no stage between: what the driver costs by itself.
fn passthrough() -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("in").to("out");
    b.build()
}

/// The five closures hand-written into one `flat_map` closure: the same work as the chain,
/// on the same driver path, without operator boundaries.
fn hand_fused() -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("in")
        .flat_map(|k, v| {
            if !keep(&k, &v) {
                return None;
            }
            let v = scale(v);
            if drop_fives(&k, &v) {
                return None;
            }
            let (k, v) = halve(k, v);
            Some((k, minus_one(v)))
        })
        .to("out");
    b.build()
}

/// The five closures in one processor of the Processor API: what a `process` node costs
/// against `test_driver_hand_fused` (a lock and a context per record).
struct FiveStages;

impl streams_runtime::processor::Processor<String, i64> for FiveStages {
    type KOut = String;
    type VOut = i64;

    fn process(
        &mut self,
        ctx: &mut streams_runtime::processor::ProcessorContext<'_, String, i64>,
        r: Record<String, i64>,
    ) {
        let (k, v) = (r.key.clone(), r.value);
        if !keep(&k, &v) {
            return;
        }
        let v = scale(v);
        if drop_fives(&k, &v) {
            return;
        }
        let (k, v) = halve(k, v);
        ctx.forward(r.with(k, minus_one(v)));
    }
}

fn processor_api() -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("in").process(|| FiveStages, &[]).to("out");
    b.build()
}

fn topology() -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("in")
        .filter(keep)
        .map_values(scale)
        .filter_not(drop_fives)
        .map(halve)
        .map_values(minus_one)
        .to("out");
    b.build()
}

fn bench(c: &mut Criterion) {
    let input = records();
    let encoded: Vec<(Vec<u8>, Vec<u8>)> =
        input.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.to_be_bytes().to_vec())).collect();
    let mut group = c.benchmark_group("stateless_chain_5_stages");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(20);

    group.bench_function("hand_loop_typed", |b| {
        b.iter_batched(
            || input.clone(),
            |records| {
                let mut out = Vec::with_capacity(records.len());
                for (k, v) in records {
                    if !keep(&k, &v) {
                        continue;
                    }
                    let v = scale(v);
                    if drop_fives(&k, &v) {
                        continue;
                    }
                    let (k, v) = halve(k, v);
                    out.push((k, minus_one(v)));
                }
                out
            },
            BatchSize::LargeInput,
        )
    });

    group.bench_function("hand_loop_bytes", |b| {
        b.iter(|| {
            let mut out: Vec<(u32, Vec<u8>, Vec<u8>)> = Vec::with_capacity(encoded.len());
            for (kb, vb) in &encoded {
                let k = String::from_utf8(kb.clone()).unwrap();
                let v = i64::from_be_bytes(vb.as_slice().try_into().unwrap());
                if !keep(&k, &v) {
                    continue;
                }
                let v = scale(v);
                if drop_fives(&k, &v) {
                    continue;
                }
                let (k, v) = halve(k, v);
                let v = minus_one(v);
                let key = k.into_bytes();
                let partition = partition_for_key(&key, 1);
                out.push((partition, key, v.to_be_bytes().to_vec()));
            }
            out
        })
    });

    for (name, make) in [
        ("test_driver_passthrough", passthrough as fn() -> Topology),
        ("test_driver_hand_fused", hand_fused),
        ("test_driver_processor_api", processor_api),
        ("test_driver", topology),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || TestDriver::new(make()),
                |driver| {
                    let topic = driver.input::<Bytes, Bytes>("in");
                    for (k, v) in &encoded {
                        topic.try_pipe_raw(Some(k.clone()), Some(v.clone()), 0, Headers::new()).unwrap();
                    }
                    driver
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
