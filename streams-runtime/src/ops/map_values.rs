//! `map_values`: a new value from each value; the key (and so the partitioning) is kept.

use super::{fn_stage, Context, Processor, Stage};
use crate::record::Record;

fn_stage!(
    /// Replaces each value with `f(value)`.
    MapValues,
    /// The running form of [`MapValues`].
    MapValuesProc
);

impl<K, V, U, F, D> Processor<K, V> for MapValuesProc<F, D>
where
    F: Fn(V) -> U + Send + Sync,
    D: Processor<K, U>,
{
    #[inline]
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let Record { key, value, timestamp, headers } = record;
        self.next.process(ctx, Record { key, value: (self.f)(value), timestamp, headers });
    }
}

impl<K: 'static, V: 'static, U: 'static, F> Stage for MapValues<K, V, F>
where
    F: Fn(V) -> U + Send + Sync + 'static,
{
    type KIn = K;
    type VIn = V;
    type KOut = K;
    type VOut = U;
    type Proc<D: Processor<K, U> + 'static> = MapValuesProc<F, D>;
    fn wrap<D: Processor<K, U> + 'static>(&self, next: D) -> Self::Proc<D> {
        self.running(next)
    }
}
