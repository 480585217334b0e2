//! `merge`: two streams of the same types into one. Both parents feed one shared downstream.

use std::sync::{Arc, Mutex};

use super::{Context, Processor};
use crate::record::Record;

/// One parent's entry into a merged downstream, shared by all parents within a task.
pub(crate) struct MergeInput<K, V> {
    pub(crate) shared: Arc<Mutex<Box<dyn Processor<K, V>>>>,
}

impl<K, V> Processor<K, V> for MergeInput<K, V> {
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        // A task runs on one thread at a time: the lock is never contended.
        let mut next = self.shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        next.process(ctx, record);
    }

    fn null_drops(&self) -> super::NullDrops {
        self.shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).null_drops()
    }
}
