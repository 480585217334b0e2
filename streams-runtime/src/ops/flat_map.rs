//! `flat_map`: zero or more new records (key and value) from each record.

use super::{fn_stage, Context, Processor, Stage};
use crate::record::Record;

fn_stage!(
    /// Replaces each record with the `(key, value)` pairs of `f(key, value)`.
    FlatMap,
    /// The running form of [`FlatMap`].
    FlatMapProc
);

impl<K, V, K2, V2, I, F, D> Processor<K, V> for FlatMapProc<F, D>
where
    F: Fn(K, V) -> I + Send + Sync,
    I: IntoIterator<Item = (K2, V2)>,
    D: Processor<K2, V2>,
{
    #[inline]
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let Record { key, value, timestamp, headers } = record;
        for (key, value) in (self.f)(key, value) {
            self.next.process(ctx, Record { key, value, timestamp, headers: headers.clone() });
        }
    }
}

impl<K: 'static, V: 'static, K2: 'static, V2: 'static, I, F> Stage for FlatMap<K, V, F>
where
    F: Fn(K, V) -> I + Send + Sync + 'static,
    I: IntoIterator<Item = (K2, V2)>,
{
    type KIn = K;
    type VIn = V;
    type KOut = K2;
    type VOut = V2;
    type Proc<D: Processor<K2, V2> + 'static> = FlatMapProc<F, D>;
    fn wrap<D: Processor<K2, V2> + 'static>(&self, next: D) -> Self::Proc<D> {
        self.running(next)
    }
}
