//! Stream-table joins: each stream record looks the table up as of the moment it is
//! processed (records are processed in timestamp order within a task, so a table update
//! with a smaller timestamp is seen first). Inner joins drop records without a match; left
//! joins pass `None`. The result keeps the stream record's timestamp.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{Context, Processor};
use crate::record::{Data, Record};
use crate::state::time_ordered::TimeOrderedBuffer;

/// Reads a table's value for a key, with its timestamp (Kafka's `KTableValueGetter`, which
/// answers a `ValueAndTimestamp`): its current value, or given a time, the value it had then
/// if the table is versioned (`get(key, asOfTimestamp)`; a table that is not ignores the time).
pub(crate) type Getter<K, V> = Box<dyn Fn(&K, Option<i64>) -> Option<(V, i64)> + Send>;

/// Kafka's `KStreamKTableJoinProcessor.maybeDropRecord`, for table and global-table joins:
/// a record whose join key or value is null is dropped and counted, except that a left
/// join keeps a record whose own key is null (KIP-962) and joins it with `None`.
pub(crate) struct LookupNulls<K, V, JK> {
    pub(crate) key: fn(&K) -> bool,
    pub(crate) value: fn(&V) -> bool,
    pub(crate) join_key: fn(&JK) -> bool,
    pub(crate) left: bool,
    pub(crate) dropped: Arc<AtomicU64>,
}

impl<K, V, JK> LookupNulls<K, V, JK> {
    /// What `drops` counts.
    pub(crate) fn null_drops(&self) -> super::NullDrops {
        super::NullDrops { key: (!self.left) as u64, value: 1, both: 1 }
    }

    pub(crate) fn drops(&self, ctx: &Context<'_>, key: &K, value: &V, join_key: &JK) -> bool {
        if self.left && (self.key)(key) && !(self.value)(value) {
            return false;
        }
        let drop = (self.join_key)(join_key) || (self.value)(value);
        if drop {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                topic = ctx.topic(),
                partition = ctx.partition(),
                offset = ctx.offset(),
                "skipping a record with a null join key or value"
            );
        }
        drop
    }
}

pub(crate) struct StreamTableJoinProc<K, V, VT, R> {
    pub(crate) table: Getter<K, VT>,
    pub(crate) nulls: LookupNulls<K, V, K>,
    pub(crate) joiner: Arc<dyn Fn(V, Option<VT>) -> Option<R> + Send + Sync>,
    /// With a grace period (a versioned table, KIP-923): where records wait for it.
    pub(crate) buffer: Option<Arc<TimeOrderedBuffer<K, V>>>,
    pub(crate) next: Box<dyn Processor<K, R>>,
}

impl<K, V, VT, R> StreamTableJoinProc<K, V, VT, R> {
    /// Kafka's `KStreamKTableJoinProcessor.doJoin`: the table's row as of the record's time.
    fn join(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let Record { key, value, timestamp, headers } = record;
        let found =
            if (self.nulls.key)(&key) { None } else { (self.table)(&key, Some(timestamp)).map(|(v, _)| v) };
        if let Some(joined) = (self.joiner)(value, found) {
            self.next.process(ctx, Record { key, value: joined, timestamp, headers });
        }
    }
}

impl<K: Data, V: Data, VT: Send, R: Send> Processor<K, V> for StreamTableJoinProc<K, V, VT, R> {
    fn null_drops(&self) -> super::NullDrops {
        self.nulls.null_drops()
    }

    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        if self.nulls.drops(ctx, &record.key, &record.value, &record.key) {
            return;
        }
        let Some(buffer) = self.buffer.clone() else { return self.join(ctx, record) };
        // Kafka's `KStreamKTableJoinProcessor` with a grace period: a record too late for the
        // buffer joins at once; otherwise it waits, and every record whose time is up leaves
        // the buffer, in order, and joins the table as of its own timestamp.
        match buffer.put(record) {
            Ok(Some(late)) => self.join(ctx, late),
            Ok(None) => {
                for ((key, value, headers), timestamp) in buffer.evict() {
                    self.join(ctx, Record { key, value, timestamp, headers });
                }
            }
            Err(e) => {
                ctx.failed.get_or_insert(e);
            }
        }
    }
}
