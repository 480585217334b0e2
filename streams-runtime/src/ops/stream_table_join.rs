//! Stream-table joins: each stream record looks the table up as of the moment it is
//! processed (records are processed in timestamp order within a task, so a table update
//! with a smaller timestamp is seen first). Inner joins drop records without a match; left
//! joins pass `None`. The result keeps the stream record's timestamp.

use std::sync::Arc;

use super::{Context, Processor};
use crate::record::Record;

/// Reads a table's current value for a key.
pub(crate) type Getter<K, V> = Box<dyn Fn(&K) -> Option<V> + Send>;

pub(crate) struct StreamTableJoinProc<K, V, VT, R> {
    pub(crate) table: Getter<K, VT>,
    pub(crate) joiner: Arc<dyn Fn(V, Option<VT>) -> Option<R> + Send + Sync>,
    pub(crate) next: Box<dyn Processor<K, R>>,
}

impl<K: Send, V: Send, VT: Send, R: Send> Processor<K, V> for StreamTableJoinProc<K, V, VT, R> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let Record { key, value, timestamp, headers } = record;
        let found = (self.table)(&key);
        if let Some(joined) = (self.joiner)(value, found) {
            self.next.process(ctx, Record { key, value: joined, timestamp, headers });
        }
    }
}
