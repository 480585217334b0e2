//! `map`: a new key and value from each record (the key changes, so downstream stateful
//! operators repartition).

use super::{fn_stage, Context, Processor, Stage};
use crate::record::Record;

fn_stage!(
    /// Replaces each record's key and value with `f(key, value)`.
    Map,
    /// The running form of [`Map`].
    MapProc
);

impl<K, V, K2, V2, F, D> Processor<K, V> for MapProc<F, D>
where
    F: Fn(K, V) -> (K2, V2) + Send + Sync,
    D: Processor<K2, V2>,
{
    #[inline]
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        let Record { key, value, timestamp, headers } = record;
        let (key, value) = (self.f)(key, value);
        self.next.process(ctx, Record { key, value, timestamp, headers });
    }
}

impl<K: 'static, V: 'static, K2: 'static, V2: 'static, F> Stage for Map<K, V, F>
where
    F: Fn(K, V) -> (K2, V2) + Send + Sync + 'static,
{
    type KIn = K;
    type VIn = V;
    type KOut = K2;
    type VOut = V2;
    type Proc<D: Processor<K2, V2> + 'static> = MapProc<F, D>;
    fn wrap<D: Processor<K2, V2> + 'static>(&self, next: D) -> Self::Proc<D> {
        self.running(next)
    }
}
