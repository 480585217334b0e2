//! `foreach`: a terminal operator that hands each record to a function.

use std::sync::Arc;

use super::{Context, Processor};
use crate::record::Record;

/// Calls `f(&key, &value)` for every record; nothing flows on.
pub(crate) struct ForeachProc<F> {
    pub(crate) f: Arc<F>,
}

impl<K, V, F> Processor<K, V> for ForeachProc<F>
where
    F: Fn(&K, &V) + Send + Sync,
{
    #[inline]
    fn process(&mut self, _: &mut Context<'_>, record: Record<K, V>) {
        (self.f)(&record.key, &record.value);
    }
}
