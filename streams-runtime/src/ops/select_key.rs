//! `select_key`: a new key computed from each record; the value is kept.

use super::{fn_stage, Context, Processor, Stage};
use crate::record::Record;

fn_stage!(
    /// Replaces each key with `f(&key, &value)`.
    SelectKey,
    /// The running form of [`SelectKey`].
    SelectKeyProc
);

impl<K, V, K2, F, D> Processor<K, V> for SelectKeyProc<F, D>
where
    F: Fn(&K, &V) -> K2 + Send + Sync,
    D: Processor<K2, V>,
{
    #[inline]
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let key = (self.f)(&record.key, &record.value);
        self.next.process(ctx, record.with_key(key));
    }
}

impl<K: 'static, V: 'static, K2: 'static, F> Stage for SelectKey<K, V, F>
where
    F: Fn(&K, &V) -> K2 + Send + Sync + 'static,
{
    type KIn = K;
    type VIn = V;
    type KOut = K2;
    type VOut = V;
    type Proc<D: Processor<K2, V> + 'static> = SelectKeyProc<F, D>;
    fn wrap<D: Processor<K2, V> + 'static>(&self, next: D) -> Self::Proc<D> {
        self.running(next)
    }
}
