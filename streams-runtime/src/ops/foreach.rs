//! `foreach`: a terminal operator that hands each record to a function.

use std::sync::Arc;

use super::{Context, Processor};
use crate::record::Record;

/// Calls `f(&key, &value)` for every record; nothing flows on.
pub(crate) struct ForeachProc<F> {
    pub(crate) f: Arc<F>,
    /// Where it records end-to-end latency (it is a terminal node).
    pub(crate) e2e_slot: usize,
}

impl<K, V, F> Processor<K, V> for ForeachProc<F>
where
    F: Fn(&K, &V) + Send + Sync,
{
    #[inline]
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        ctx.probe.e2e(self.e2e_slot, ctx.wall_clock, record.timestamp);
        (self.f)(&record.key, &record.value);
    }
}
