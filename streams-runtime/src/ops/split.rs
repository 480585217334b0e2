//! `split`: route each record to the first branch whose predicate accepts it, else to the
//! default branch if there is one, else drop it (Kafka's `KStreamBranch`).

use std::sync::Arc;

use super::{Context, Processor};
use crate::record::Record;

/// A branch predicate.
pub(crate) type Predicate<K, V> = Arc<dyn Fn(&K, &V) -> bool + Send + Sync>;

/// The running split: predicates in order, their branches, and the default.
pub(crate) struct SplitProc<K, V> {
    pub(crate) predicates: Vec<Predicate<K, V>>,
    pub(crate) branches: Vec<Box<dyn Processor<K, V>>>,
    pub(crate) default: Option<Box<dyn Processor<K, V>>>,
}

impl<K, V> Processor<K, V> for SplitProc<K, V> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let chosen = self.predicates.iter().position(|p| p(&record.key, &record.value));
        match chosen {
            Some(i) => self.branches[i].process(ctx, record),
            None => {
                if let Some(default) = &mut self.default {
                    default.process(ctx, record)
                }
            }
        }
    }
}
