//! `group_by` on a table, as Kafka's `KTableRepartitionMap`: an update whose old and new
//! rows map to the same group travels as one change (old and new together, so the
//! aggregate emits once); otherwise the old row leaves its group first, then the new row
//! joins its group. A mapped row with a null key or value is skipped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{Context, Processor};
use crate::record::{Change, Record};

pub(crate) struct TableSelectProc<K, V, K2, V2> {
    pub(crate) f: Arc<dyn Fn(&K, &V) -> (K2, V2) + Send + Sync>,
    pub(crate) key_is_null: fn(&K2) -> bool,
    pub(crate) value_is_null: fn(&V2) -> bool,
    pub(crate) dropped: Arc<AtomicU64>,
    pub(crate) next: Box<dyn Processor<K2, Change<V2>>>,
}

impl<K: Send, V: Send, K2: PartialEq + Send, V2: Send> Processor<K, Change<V>>
    for TableSelectProc<K, V, K2, V2>
{
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, Change<V>>) {
        let Record { key, value: Change { new, old, is_latest }, timestamp, headers } = record;
        // Kafka's `KTableRepartitionMap` skips an out-of-order update of a versioned table: the
        // aggregate holds latest values only.
        if !is_latest {
            return;
        }
        let valid = |(k, v): &(K2, V2)| !(self.key_is_null)(k) && !(self.value_is_null)(v);
        let mapped = |v: Option<V>| v.map(|v| (self.f)(&key, &v));
        let (old, new) = (mapped(old), mapped(new));
        let skipped = usize::from(old.as_ref().is_some_and(|p| !valid(p)))
            + usize::from(new.as_ref().is_some_and(|p| !valid(p)));
        self.dropped.fetch_add(skipped as u64, Ordering::Relaxed);
        let (old, new) = (old.filter(valid), new.filter(valid));
        match (old, new) {
            (Some((old_key, old_value)), Some((new_key, new_value))) if old_key == new_key => {
                let change = Change::new(Some(new_value), Some(old_value));
                self.next.process(ctx, Record { key: new_key, value: change, timestamp, headers });
            }
            (old, new) => {
                if let Some((k, v)) = old {
                    let change = Change::new(None, Some(v));
                    self.next
                        .process(ctx, Record { key: k, value: change, timestamp, headers: headers.clone() });
                }
                if let Some((k, v)) = new {
                    let change = Change::new(Some(v), None);
                    self.next.process(ctx, Record { key: k, value: change, timestamp, headers });
                }
            }
        }
    }
}
