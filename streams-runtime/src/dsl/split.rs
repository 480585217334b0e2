//! `split()`: named branches of a stream, with an optional default branch.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{KStream, StreamsBuilder};
use crate::graph::{ChildFactory, Data, NodeKind, OutletId};
use crate::ops::split::{Predicate, SplitProc};
use crate::ops::Nop;

/// A stream being split (Kafka's `BranchedKStream`): add branches in order, then end with
/// [`default_branch`](Self::default_branch) or [`no_default_branch`](Self::no_default_branch).
///
/// Nodes are named as Kafka names them: the splitter `KSTREAM-BRANCH-0000000003`, each branch
/// the splitter's name followed by the branch name.
pub struct BranchedKStream<K, V> {
    builder: StreamsBuilder,
    input: OutletId,
    splitter: usize,
    splitter_name: String,
    predicates: Vec<Predicate<K, V>>,
    branches: Vec<(String, OutletId, usize)>,
    repartition_required: bool,
}

/// The branches of a split stream, by name.
pub struct Branches<K, V> {
    streams: BTreeMap<String, KStream<K, V>>,
}

impl<K: Data, V: Data> BranchedKStream<K, V> {
    pub(crate) fn new(
        builder: StreamsBuilder,
        input: OutletId,
        parent: usize,
        name: Option<String>,
        repartition_required: bool,
    ) -> Self {
        let (splitter, splitter_name) = {
            let mut g = builder.graph.borrow_mut();
            let name = g.name_or(name, "KSTREAM-BRANCH-");
            (g.add_node(name.clone(), NodeKind::Processor { stores: vec![] }, &[parent]), name)
        };
        BranchedKStream {
            builder,
            input,
            splitter,
            splitter_name,
            predicates: Vec::new(),
            branches: Vec::new(),
            repartition_required,
        }
    }

    fn add_branch(&mut self, name: &str) {
        if self.branches.iter().any(|(n, ..)| n == name) {
            panic!("`split`: branch `{name}` is defined twice");
        }
        let mut g = self.builder.graph.borrow_mut();
        let node_name = format!("{}{name}", self.splitter_name);
        g.skip_index();
        let node = g.add_node(node_name, NodeKind::Processor { stores: vec![] }, &[self.splitter]);
        let outlet = g.new_outlet::<K, V>(false);
        self.branches.push((name.to_string(), outlet, node));
    }

    /// A branch named `name` taking the records `predicate` accepts (and no earlier branch took).
    pub fn branch<P>(mut self, name: &str, predicate: P) -> Self
    where
        P: Fn(&K, &V) -> bool + Send + Sync + 'static,
    {
        self.add_branch(name);
        self.predicates.push(Arc::new(predicate));
        self
    }

    /// Ends the split with a branch named `name` for the records no branch took.
    pub fn default_branch(mut self, name: &str) -> Branches<K, V> {
        self.add_branch(name);
        self.finish(true)
    }

    /// Ends the split; records no branch took are dropped.
    pub fn no_default_branch(self) -> Branches<K, V> {
        self.finish(false)
    }

    fn finish(self, has_default: bool) -> Branches<K, V> {
        let predicates = self.predicates;
        let outlets: Vec<OutletId> = self.branches.iter().map(|(_, o, _)| *o).collect();
        let child: ChildFactory<K, V> = Arc::new(move |tb| {
            let mut branches: Vec<_> = outlets.iter().map(|&o| tb.downstream::<K, V>(o)).collect();
            let default = if has_default { branches.pop() } else { None };
            Box::new(SplitProc { predicates: predicates.clone(), branches, default })
        });
        self.builder.graph.borrow_mut().attach(self.input, Some(self.splitter), child);
        let required = self.repartition_required;
        let streams = self
            .branches
            .into_iter()
            .map(|(name, outlet, node)| {
                let stream = KStream::new(self.builder.clone(), outlet, node, Nop::new());
                (name, stream.with_repartition_required(required))
            })
            .collect();
        Branches { streams }
    }
}

impl<K: Data, V: Data> Branches<K, V> {
    /// The branch named `name`.
    ///
    /// # Panics
    /// If there is no such branch, or it was taken already; the message lists the branches.
    pub fn take(&mut self, name: &str) -> KStream<K, V> {
        match self.streams.remove(name) {
            Some(s) => s,
            None => {
                let known: Vec<&str> = self.streams.keys().map(String::as_str).collect();
                panic!("`split` has no branch `{name}` left; branches not yet taken: {known:?}")
            }
        }
    }

    /// Branch names not yet taken.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.streams.keys().map(String::as_str)
    }
}
