//! Table-table joins on primary keys, as Kafka's `KTableKTableInnerJoin`, `…LeftJoin`,
//! `…RightJoin` (the right table's side of a left join) and `…OuterJoin`: an update on
//! one side looks the other side up and forwards the joined row, with the larger of the two
//! timestamps. Which updates are forwarded, and whether a deletion is, follows each class:
//! an inner side forwards nothing while the other side has no row; a left or outer side
//! forwards nothing for an update that carries neither a new nor an old value. Tables have
//! no null keys (their sources drop them), so neither has a join.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::stream_table_join::Getter;
use super::{Context, Processor};
use crate::record::{Change, Record};

/// Which of Kafka's join processors a side is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum JoinSide {
    Inner,
    /// The left table's side of a left join.
    Left,
    /// The right table's side of a left join.
    Right,
    Outer,
}

pub(crate) struct TableJoinSideProc<K, This, Other, O> {
    pub(crate) other: Getter<K, Other>,
    /// The joiner with this side's value first; `None` for a missing row.
    pub(crate) joiner: Arc<dyn Fn(Option<This>, Option<Other>) -> O + Send + Sync>,
    pub(crate) side: JoinSide,
    /// Whether old values are joined and forwarded (Kafka's `sendOldValues`).
    pub(crate) send_old_values: bool,
    /// The task's dropped-records count (out-of-order updates of a versioned table).
    pub(crate) dropped: Arc<AtomicU64>,
    pub(crate) next: Box<dyn Processor<K, Change<O>>>,
}

/// Kafka's `UNKNOWN` timestamp of a missing row.
const UNKNOWN: i64 = -1;

impl<K: Send, This: Clone + Send, Other: Clone + Send, O: Send> Processor<K, Change<This>>
    for TableJoinSideProc<K, This, Other, O>
{
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, Change<This>>) {
        let Record { key, value: Change { new, old, is_latest }, timestamp, headers } = record;
        // Kafka's join processors drop an out-of-order update of a versioned table (KIP-914),
        // counted as dropped.
        if !is_latest {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let other = (self.other)(&key, None);
        let other_ts = other.as_ref().map_or(UNKNOWN, |(_, ts)| *ts);
        let other = other.map(|(v, _)| v);
        let join = |this: Option<This>| (self.joiner)(this, other.clone());
        let send_old = self.send_old_values;
        let (new, old) = match self.side {
            JoinSide::Inner => {
                if other.is_none() {
                    return;
                }
                (new.map(|n| join(Some(n))), old.filter(|_| send_old).map(|o| join(Some(o))))
            }
            JoinSide::Left => {
                if other.is_none() && new.is_none() && old.is_none() {
                    return;
                }
                (new.map(|n| join(Some(n))), old.filter(|_| send_old).map(|o| join(Some(o))))
            }
            JoinSide::Right => {
                if other.is_none() {
                    return;
                }
                // The left row stays, with or without this side's value.
                (Some(join(new)), send_old.then(|| join(old)))
            }
            JoinSide::Outer => {
                if other.is_none() && new.is_none() && old.is_none() {
                    return;
                }
                let has_other = other.is_some();
                let new = (has_other || new.is_some()).then(|| join(new));
                let old = (send_old && (has_other || old.is_some())).then(|| join(old));
                (new, old)
            }
        };
        let timestamp = timestamp.max(other_ts);
        self.next.process(ctx, Record { key, value: Change::new(new, old), timestamp, headers });
    }
}
