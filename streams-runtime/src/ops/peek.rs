//! `peek`: look at each record (for logging or metrics) and pass it on unchanged.

use super::{fn_stage, Context, Processor, Stage};
use crate::record::Record;

fn_stage!(
    /// Calls `f(&key, &value)` and forwards the record.
    Peek,
    /// The running form of [`Peek`].
    PeekProc
);

impl<K, V, F, D> Processor<K, V> for PeekProc<F, D>
where
    F: Fn(&K, &V) + Send + Sync,
    D: Processor<K, V>,
{
    #[inline]
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        (self.f)(&record.key, &record.value);
        self.next.process(ctx, record);
    }
}

impl<K: 'static, V: 'static, F> Stage for Peek<K, V, F>
where
    F: Fn(&K, &V) + Send + Sync + 'static,
{
    type KIn = K;
    type VIn = V;
    type KOut = K;
    type VOut = V;
    type Proc<D: Processor<K, V> + 'static> = PeekProc<F, D>;
    fn wrap<D: Processor<K, V> + 'static>(&self, next: D) -> Self::Proc<D> {
        self.running(next)
    }
}
