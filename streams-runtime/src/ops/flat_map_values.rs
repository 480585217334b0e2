//! `flat_map_values`: zero or more new values from each value, each with the same key.

use super::{fn_stage, Context, Processor, Stage};
use crate::record::Record;

fn_stage!(
    /// Replaces each record with one record per item of `f(value)`, keeping the key.
    FlatMapValues,
    /// The running form of [`FlatMapValues`].
    FlatMapValuesProc
);

impl<K, V, U, I, F, D> Processor<K, V> for FlatMapValuesProc<F, D>
where
    K: Clone,
    F: Fn(V) -> I + Send + Sync,
    I: IntoIterator<Item = U>,
    D: Processor<K, U>,
{
    #[inline]
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let Record { key, value, timestamp, headers } = record;
        for value in (self.f)(value) {
            let record = Record { key: key.clone(), value, timestamp, headers: headers.clone() };
            self.next.process(ctx, record);
        }
    }
}

impl<K: Clone + 'static, V: 'static, U: 'static, I, F> Stage for FlatMapValues<K, V, F>
where
    F: Fn(V) -> I + Send + Sync + 'static,
    I: IntoIterator<Item = U>,
{
    type KIn = K;
    type VIn = V;
    type KOut = K;
    type VOut = U;
    type Proc<D: Processor<K, U> + 'static> = FlatMapValuesProc<F, D>;
    fn wrap<D: Processor<K, U> + 'static>(&self, next: D) -> Self::Proc<D> {
        self.running(next)
    }
}
