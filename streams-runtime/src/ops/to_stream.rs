//! `to_stream`: a table's updates as a stream of its new values. What a deletion becomes
//! depends on the table: `None` where the table can delete, nothing where it never does.

use std::marker::PhantomData;

use super::{Context, Processor};
use crate::dsl::Tombstones;
use crate::record::Data;
use crate::record::{Change, Record};

pub(crate) struct ToStreamProc<K, V: Data, T: Tombstones> {
    pub(crate) next: Box<dyn Processor<K, T::Value<V>>>,
    pub(crate) _t: PhantomData<fn(T)>,
}

impl<K: Send, V: Data, T: Tombstones> Processor<K, Change<V>> for ToStreamProc<K, V, T> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, Change<V>>) {
        if let Some(value) = T::emit(record.value.new) {
            self.next.process(
                ctx,
                Record { key: record.key, value, timestamp: record.timestamp, headers: record.headers },
            );
        }
    }
}
