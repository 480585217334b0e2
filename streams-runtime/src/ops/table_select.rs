//! `group_by` on a table (Kafka's `KTableRepartitionMap`): each update becomes a subtraction
//! of the old value from its old group and an addition of the new value to its new group.

use std::sync::Arc;

use super::{Context, Processor};
use crate::record::{Change, Record};

pub(crate) struct TableSelectProc<K, V, K2, V2> {
    pub(crate) f: Arc<dyn Fn(&K, &V) -> (K2, V2) + Send + Sync>,
    pub(crate) next: Box<dyn Processor<K2, Change<V2>>>,
}

impl<K: Send, V: Send, K2: Send, V2: Send> Processor<K, Change<V>> for TableSelectProc<K, V, K2, V2> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, Change<V>>) {
        let Record { key, value: Change { new, old }, timestamp, headers } = record;
        if let Some(old) = old {
            let (k2, v2) = (self.f)(&key, &old);
            let change = Change { new: None, old: Some(v2) };
            self.next.process(ctx, Record { key: k2, value: change, timestamp, headers: headers.clone() });
        }
        if let Some(new) = new {
            let (k2, v2) = (self.f)(&key, &new);
            let change = Change { new: Some(v2), old: None };
            self.next.process(ctx, Record { key: k2, value: change, timestamp, headers });
        }
    }
}
