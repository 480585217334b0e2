//! `filter` and `filter_not`: keep the records a predicate accepts (or rejects).

use std::marker::PhantomData;
use std::sync::Arc;

use super::{Context, Processor, Stage};
use crate::record::Record;

/// Keeps records for which `predicate(&key, &value) != negate`.
pub struct Filter<K, V, P> {
    predicate: Arc<P>,
    negate: bool,
    _types: PhantomData<fn(K, V)>,
}

impl<K, V, P> Filter<K, V, P> {
    pub(crate) fn new(predicate: P, negate: bool) -> Self {
        Filter { predicate: Arc::new(predicate), negate, _types: PhantomData }
    }
}

impl<K, V, P> Clone for Filter<K, V, P> {
    fn clone(&self) -> Self {
        Filter { predicate: self.predicate.clone(), negate: self.negate, _types: PhantomData }
    }
}

/// The running form of [`Filter`].
pub struct FilterProc<P, D> {
    predicate: Arc<P>,
    negate: bool,
    next: D,
}

impl<K, V, P, D> Processor<K, V> for FilterProc<P, D>
where
    P: Fn(&K, &V) -> bool + Send + Sync,
    D: Processor<K, V>,
{
    #[inline]
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<K, V>) {
        if (self.predicate)(&record.key, &record.value) != self.negate {
            self.next.process(ctx, record);
        }
    }
}

impl<K, V, P> Stage for Filter<K, V, P>
where
    K: 'static,
    V: 'static,
    P: Fn(&K, &V) -> bool + Send + Sync + 'static,
{
    type KIn = K;
    type VIn = V;
    type KOut = K;
    type VOut = V;
    type Proc<D: Processor<K, V> + 'static> = FilterProc<P, D>;
    fn wrap<D: Processor<K, V> + 'static>(&self, next: D) -> FilterProc<P, D> {
        FilterProc { predicate: self.predicate.clone(), negate: self.negate, next }
    }
}
