//! `KTable::transform_values`: Kafka's `KTableTransformValues`. The new value goes through
//! the transformer, then the old one when old values are sent (`transform` is called for a
//! missing value too, as Kafka calls it with null); a lookup goes through an instance of its
//! own over the parent's lookup.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use super::{Context, Processor};
use crate::processor::ValueTransformerWithKey;
use crate::record::Data;
use crate::record::{Change, Record};

pub(crate) struct TableTransformValuesProc<K, V, T: ValueTransformerWithKey<K, V>> {
    pub(crate) transformer: T,
    pub(crate) send_old_values: bool,
    /// The timestamp the transformer's store writes carry: the record's.
    pub(crate) now: Arc<AtomicI64>,
    pub(crate) next: Box<dyn Processor<K, Change<T::VOut>>>,
    pub(crate) _types: std::marker::PhantomData<fn(V)>,
}

impl<K: Data, V: Data, T: ValueTransformerWithKey<K, V>> Processor<K, Change<V>>
    for TableTransformValuesProc<K, V, T>
{
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, Change<V>>) {
        let Record { key, value: Change { new, old, is_latest }, timestamp, headers } = record;
        self.now.store(timestamp, Ordering::Relaxed);
        let new = self.transformer.transform(&key, new.as_ref());
        let old = if self.send_old_values { self.transformer.transform(&key, old.as_ref()) } else { None };
        self.next.process(ctx, Record { key, value: Change { new, old, is_latest }, timestamp, headers });
    }
}

impl<K, V, T: ValueTransformerWithKey<K, V>> Drop for TableTransformValuesProc<K, V, T> {
    fn drop(&mut self) {
        self.transformer.close();
    }
}
