//! `KStream::process` and `StreamsBuilder::add_state_store`: the Processor API's place in the
//! builder (Kafka's `KStream.process` and `StreamsBuilder.addStateStore`).

use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};

use super::{KStream, StreamsBuilder};
use crate::graph::Data;
use crate::ops::process::{AnyKeyProc, FixedKeyProc, ProcessNode, UserNode, UserProcessor};
use crate::ops::StageOf;
use crate::processor::{FixedKeyProcessor, InitContext, Processor, Schedules, StoreSpec};

impl StreamsBuilder {
    /// Adds a store that processors name in [`KStream::process`] (Kafka's `addStateStore`).
    ///
    /// # Panics
    /// If a store of that name was added already.
    pub fn add_state_store(&self, store: &impl StoreSpec) -> &Self {
        let name = store.store_name();
        assert!(
            !self.graph.borrow().user_stores.iter().any(|(n, _)| n == name),
            "store `{name}` is added already (Kafka: \"StateStore {name} is already added.\")"
        );
        self.add_store_once(store);
        self
    }

    /// Adds `store` unless a store of its name is added.
    pub(crate) fn add_store_once(&self, store: &dyn StoreSpec) {
        let mut g = self.graph.borrow_mut();
        if !g.user_stores.iter().any(|(n, _)| n == store.store_name()) {
            g.user_stores.push((store.store_name().to_string(), store.factory()));
            g.persistent_user_stores |= store.persistent();
            g.set_changelog_kind(store.store_name(), store.changelog());
        }
    }
}

impl<K, V, S> KStream<K, V, S>
where
    K: Data,
    V: Data,
    S: StageOf<K, V>,
{
    /// Runs a processor of your own on each record (Kafka's `KStream.process`): `supplier`
    /// makes one per task, connected to the `stores` named (added with
    /// [`StreamsBuilder::add_state_store`]). The processor may change keys, so a stateful
    /// operator downstream repartitions first. See [`crate::processor`].
    ///
    /// # Panics
    /// If a store named was not added to the builder.
    ///
    /// [`Self::process_with_stores`] takes the stores themselves instead.
    pub fn process<P, F>(self, supplier: F, stores: &[&str]) -> KStream<P::KOut, P::VOut>
    where
        P: Processor<K, V>,
        F: Fn() -> P + Send + Sync + 'static,
    {
        self.user_node("KSTREAM-PROCESSOR-", move || AnyKeyProc(supplier()), stores, true).after_key_change()
    }

    /// Runs a processor of your own that keeps each record's key (Kafka's
    /// `KStream.processValues`): as [`Self::process`], but a stateful operator downstream
    /// needs no repartition.
    ///
    /// # Panics
    /// If a store named was not added to the builder.
    pub fn process_values<P, F>(self, supplier: F, stores: &[&str]) -> KStream<K, P::VOut>
    where
        P: FixedKeyProcessor<K, V>,
        F: Fn() -> P + Send + Sync + 'static,
    {
        let key_changed = self.repartition_required();
        self.user_node("KSTREAM-PROCESSVALUES-", move || FixedKeyProc(supplier()), stores, key_changed)
            .after_value_change()
    }

    /// Adds the node of a processor `supplier` makes, connected to `stores`.
    fn user_node<U, F>(
        mut self,
        prefix: &str,
        supplier: F,
        stores: &[&str],
        key_changed: bool,
    ) -> KStream<U::KOut, U::VOut>
    where
        U: UserProcessor<K, V>,
        F: Fn() -> U + Send + Sync + 'static,
    {
        let given = self.take_name();
        let (name, creates) = {
            let mut g = self.builder().graph.borrow_mut();
            let creates = user_store_factories(&g, stores, "process");
            (g.name_or(given, prefix), creates)
        };
        let store_names: Vec<String> = stores.iter().map(|s| s.to_string()).collect();
        let node_name = name.clone();
        self.processor_of_children(name, store_names.clone(), move |tb, outlet| {
            let next = tb.children::<U::KOut, U::VOut>(outlet);
            for create in &creates {
                create(tb);
            }
            let (now, mut schedules) = (Arc::new(AtomicI64::new(0)), Schedules::default());
            let mut processor = supplier();
            processor.init(&mut InitContext {
                registry: &tb.stores,
                wall_clock: tb.wall_clock,
                partition: tb.partition,
                application_id: tb.application_id(),
                node: &node_name,
                stores: &store_names,
                schedules: &mut schedules,
                now: &now,
                dropped: &tb.dropped,
            });
            let node = Arc::new(Mutex::new(UserNode {
                processor,
                next,
                schedules,
                now,
                name: node_name.clone(),
                application_id: tb.application_id().to_string(),
                _types: std::marker::PhantomData,
            }));
            tb.punctuators.push(Box::new(ProcessNode(node.clone())));
            ProcessNode(node)
        })
        .with_repartition_required(key_changed)
    }

    /// As [`Self::process`], with the stores themselves: each is added to the builder unless
    /// a store of its name is (what `topology!`'s `process(supplier, stores = [..])` writes).
    pub fn process_with_stores<P, F>(
        self,
        supplier: F,
        stores: &[&dyn StoreSpec],
    ) -> KStream<P::KOut, P::VOut>
    where
        P: Processor<K, V>,
        F: Fn() -> P + Send + Sync + 'static,
    {
        for store in stores {
            self.builder().add_store_once(*store);
        }
        let names: Vec<&str> = stores.iter().map(|s| s.store_name()).collect();
        self.process(supplier, &names)
    }

    /// As [`Self::process_values`], with the stores themselves (what `topology!`'s
    /// `process_values(supplier, stores = [..])` writes).
    pub fn process_values_with_stores<P, F>(
        self,
        supplier: F,
        stores: &[&dyn StoreSpec],
    ) -> KStream<K, P::VOut>
    where
        P: FixedKeyProcessor<K, V>,
        F: Fn() -> P + Send + Sync + 'static,
    {
        for store in stores {
            self.builder().add_store_once(*store);
        }
        let names: Vec<&str> = stores.iter().map(|s| s.store_name()).collect();
        self.process_values(supplier, &names)
    }
}

/// How a task makes each of the user's stores named (added to the builder before).
///
/// # Panics
/// If one was not added: `operation` names what connected it.
pub(crate) fn user_store_factories(
    g: &crate::graph::GraphBuilder,
    stores: &[&str],
    operation: &str,
) -> Vec<crate::processor::store::StoreFactory> {
    stores
        .iter()
        .map(|s| match g.user_stores.iter().find(|(n, _)| n == s) {
            Some((_, create)) => create.clone(),
            None => panic!(
                "`{operation}` names store `{s}`, which is not added: call \
                 `builder.add_state_store(&Stores::key_value::<K, V>(\"{s}\"))` first"
            ),
        })
        .collect()
}
