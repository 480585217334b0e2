//! Table-table joins on primary keys: an update on either side looks the other side up and
//! emits the new joined row; a deletion on either side deletes the joined row downstream.

use std::sync::Arc;

use super::stream_table_join::Getter;
use super::{Context, Processor};
use crate::record::{Change, Record};

pub(crate) struct TableJoinSideProc<K, This, Other, O> {
    pub(crate) other: Getter<K, Other>,
    /// Puts this side's and the other side's values in (left, right) order.
    pub(crate) combine: Arc<dyn Fn(Option<This>, Option<Other>) -> Option<O> + Send + Sync>,
    pub(crate) next: Box<dyn Processor<K, Change<O>>>,
}

impl<K: Send, This: Send, Other: Send, O: Send> Processor<K, Change<This>>
    for TableJoinSideProc<K, This, Other, O>
{
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, Change<This>>) {
        let Record { key, value: Change { new, .. }, timestamp, headers } = record;
        let deleted = new.is_none();
        let other = (self.other)(&key);
        let joined = (self.combine)(new, other);
        if joined.is_some() || deleted {
            self.next
                .process(ctx, Record { key, value: Change { new: joined, old: None }, timestamp, headers });
        }
    }
}
