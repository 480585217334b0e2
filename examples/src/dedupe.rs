//! Deduplication with the Processor API (Kafka Streams' classic "dedupe by event id"): each
//! event id passes once; the ids seen are kept in a state store (changelogged, so a restart
//! remembers them), and a wall-clock punctuator forgets ids older than the retention, so the
//! store does not grow forever.

use std::time::Duration;

use streams_runtime::cli::Demo;
use streams_runtime::prelude::*;
use streams_runtime::processor::{
    Cancellable, InitContext, KeyValueStoreBuilder, KeyValueStoreRef, Processor, ProcessorContext,
    PunctuationType, Stores,
};

/// The input topic: `String` event ids, `String` payloads.
pub const INPUT: &str = "events";
/// The output topic: each event id once.
pub const OUTPUT: &str = "events-deduped";
/// How long (event time) an id is remembered.
pub const RETENTION_MS: i64 = 60_000;
/// How often (wall-clock time) expired ids are purged.
pub const PURGE_EVERY: Duration = Duration::from_secs(1);

/// The store of ids seen: id → the timestamp it was first seen at.
pub fn seen_ids() -> KeyValueStoreBuilder<String, i64> {
    Stores::key_value::<String, i64>("seen-ids")
}

/// Forwards an event the first time its id is seen.
pub struct Dedupe {
    seen: Option<KeyValueStoreRef<String, i64>>,
}

impl Dedupe {
    /// A processor for one task (its store is looked up in `init`).
    pub fn new() -> Self {
        Dedupe { seen: None }
    }
}

impl Default for Dedupe {
    fn default() -> Self {
        Self::new()
    }
}

impl Processor<String, String> for Dedupe {
    type KOut = String;
    type VOut = String;

    fn init(&mut self, ctx: &mut InitContext<'_>) {
        self.seen = Some(ctx.key_value_store(&seen_ids()));
        ctx.schedule(PURGE_EVERY, PunctuationType::WallClockTime);
    }

    fn process(&mut self, ctx: &mut ProcessorContext<'_, String, String>, event: Record<String, String>) {
        let seen = self.seen.as_ref().expect("initialized");
        if seen.put_if_absent(event.key.clone(), event.timestamp).is_none() {
            ctx.forward(event);
        }
    }

    /// Forgets the ids first seen more than the retention before stream time.
    fn punctuate(&mut self, ctx: &mut ProcessorContext<'_, String, String>, _: &Cancellable, _: i64) {
        let seen = self.seen.as_ref().expect("initialized");
        let horizon = ctx.stream_time().saturating_sub(RETENTION_MS);
        for (id, first_seen) in seen.all() {
            if first_seen < horizon {
                seen.delete(&id);
            }
        }
    }
}

/// The topology.
pub fn topology() -> Topology {
    topology! {
        stream::<String, String>("events")
            |> process(Dedupe::new, stores = [seen_ids()])
            |> to("events-deduped");
    }
}

/// Writes events with some ids repeated (a producer retrying), one per 100 ms.
pub fn demo(demo: &Demo) {
    let ids = ["e1", "e2", "e1", "e3", "e2", "e4", "e4", "e5"];
    for (i, id) in ids.iter().enumerate() {
        let payload = format!("order {id} (attempt at {} ms)", 100 * i);
        demo.send::<String, String>(INPUT, id.to_string(), payload, 1_000 + 100 * i as i64);
    }
}
