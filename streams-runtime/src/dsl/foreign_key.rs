//! The foreign-key table join (KIP-213): `left.foreign_key_join(right, |v| fk, joiner)`
//! joins each left row with the right row whose key its value names. The processors are in
//! `ops/fk_join.rs`; this file lays out Kafka's nodes, topics and stores
//! (`KTableImpl.doJoinOnForeignKey`), named as Kafka names them.

use std::marker::PhantomData;
use std::sync::Arc;

use super::ktable::{GetterFactory, Lineage};
use super::{KStream, KTable, MayDelete, Tombstones};
use crate::codec::DefaultCodec;
use crate::graph::{NodeKind, SinkTopic, SourceFactory, SourceSpec, SourceTopics};
use crate::ops::fk_join::{
    ForeignJoinProc, ResponseCodec, ResponseJoinProc, SubscriptionCodec, SubscriptionJoinProc,
    SubscriptionSendProc, SubscriptionStore,
};
use crate::ops::source::SourceProc;
use crate::ops::table_source::TableSourceProc;
use crate::ops::{Nop, TerminalProbe};
use crate::state::StoreKey;

/// What a foreign-key extractor may return: the key, or `Option` of it where a row may have
/// none (`None` is Kafka's null foreign key: an inner join skips the row, a left join joins
/// it with no right row).
#[diagnostic::on_unimplemented(
    message = "the foreign key is a `{Self}`, but the table joined has keys of type `{KO}`",
    label = "its foreign-key extractor returns `{Self}`",
    note = "return the joined table's key type `{KO}` (or `Option<{KO}>`, `None` where a row has no foreign key)"
)]
pub trait ForeignKey<KO> {
    /// The foreign key, if any.
    fn into_foreign_key(self) -> Option<KO>;
}

impl<KO> ForeignKey<KO> for KO {
    fn into_foreign_key(self) -> Option<KO> {
        Some(self)
    }
}

impl<KO> ForeignKey<KO> for Option<KO> {
    fn into_foreign_key(self) -> Option<KO> {
        self
    }
}

/// Kafka's name prefixes (`KTableImpl`).
const REGISTRATION: &str = "KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-";
const PROCESSOR: &str = "KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-";
const RESPONSE: &str = "KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-";

impl<K, V, T> KTable<K, V, T>
where
    K: DefaultCodec + StoreKey,
    V: DefaultCodec,
    T: Tombstones,
{
    /// Joins each row with the row of `other` whose key `foreign_key(&value)` names (Kafka's
    /// foreign-key `join`, KIP-213): a result row exists while both do, and follows updates
    /// of either side, including a row moving to another foreign key. A row whose foreign key
    /// is `None` is skipped.
    ///
    /// The two tables need not be co-partitioned: subscriptions travel to `other`'s
    /// partitions through `<application.id>-KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-…-topic`
    /// and answers come back through `…-SUBSCRIPTION-RESPONSE-…-topic`.
    ///
    /// ```
    /// # use streams_runtime::prelude::*;
    /// let b = StreamsBuilder::new();
    /// let orders = b.table::<String, String>("orders"); // value: the customer's id
    /// let customers = b.table::<String, String>("customers"); // value: the name
    /// orders
    ///     .foreign_key_join(customers, |customer: &String| customer.clone(), |order, name| format!("{order} for {name}"))
    ///     .to_stream()
    ///     .to("orders-with-names");
    /// ```
    pub fn foreign_key_join<KO, VO, T2, R, F, FK, J>(
        self,
        other: KTable<KO, VO, T2>,
        foreign_key: F,
        joiner: J,
    ) -> KTable<K, R, MayDelete>
    where
        KO: DefaultCodec + StoreKey,
        VO: DefaultCodec,
        T2: Tombstones,
        R: DefaultCodec,
        F: Fn(&V) -> FK + Send + Sync + 'static,
        FK: ForeignKey<KO>,
        J: Fn(V, VO) -> R + Send + Sync + 'static,
    {
        let joiner =
            move |v: V, vo: Option<VO>| joiner(v, vo.expect("an inner join answers with a right row"));
        self.join_on_foreign_key(other, foreign_key, Arc::new(joiner), false)
    }

    /// As [`Self::foreign_key_join`], keeping every row of this table: `None` where no row
    /// of `other` has the foreign key (or the foreign key is `None`) — Kafka's foreign-key
    /// `leftJoin`.
    pub fn foreign_key_left_join<KO, VO, T2, R, F, FK, J>(
        self,
        other: KTable<KO, VO, T2>,
        foreign_key: F,
        joiner: J,
    ) -> KTable<K, R, MayDelete>
    where
        KO: DefaultCodec + StoreKey,
        VO: DefaultCodec,
        T2: Tombstones,
        R: DefaultCodec,
        F: Fn(&V) -> FK + Send + Sync + 'static,
        FK: ForeignKey<KO>,
        J: Fn(V, Option<VO>) -> R + Send + Sync + 'static,
    {
        self.join_on_foreign_key(other, foreign_key, Arc::new(joiner), true)
    }

    fn join_on_foreign_key<KO, VO, T2, R, F, FK>(
        mut self,
        other: KTable<KO, VO, T2>,
        foreign_key: F,
        joiner: Arc<dyn Fn(V, Option<VO>) -> R + Send + Sync>,
        left_join: bool,
    ) -> KTable<K, R, MayDelete>
    where
        KO: DefaultCodec + StoreKey,
        VO: DefaultCodec,
        T2: Tombstones,
        R: DefaultCodec,
        F: Fn(&V) -> FK + Send + Sync + 'static,
        FK: ForeignKey<KO>,
    {
        // Kafka's `doJoinOnForeignKey`: both sides send old values (the left's tell which
        // foreign key a row leaves), and both are looked up.
        other.lineage.enable(other.stream.builder());
        self.lineage.enable(self.stream.builder());
        let (left_store, left_getter) = self.materialize();
        let (right_store, right_getter) = other.materialize();
        let builder = self.stream.builder().clone();
        let given = self.stream.take_name();
        let mut g = builder.graph.borrow_mut();
        // Kafka's `NamedInternal.suffixWithOrElseGet`: a counter value drawn for every name.
        let mut name = |suffix: &str, prefix: &str| {
            let generated = g.new_name(prefix);
            given.as_ref().map_or(generated, |n| format!("{n}{suffix}"))
        };
        let subscription_topic = name("-subscription-registration", REGISTRATION) + "-topic";
        let send_name = name("-subscription-registration-processor", REGISTRATION);
        let subscription_sink = name("-subscription-registration-sink", "KTABLE-SINK-");
        let subscription_source = name("-subscription-registration-source", "KTABLE-SOURCE-");
        let subscription_store = name("-subscription-store", "KTABLE-FK-JOIN-SUBSCRIPTION-STATE-STORE-");
        let receive_name = name("-subscription-receive", PROCESSOR);
        let join_name = name("-subscription-join-foreign", PROCESSOR);
        let foreign_name = name("-foreign-join-subscription", PROCESSOR);
        let response_topic = name("-subscription-response", RESPONSE) + "-topic";
        let response_sink = name("-subscription-response-sink", "KTABLE-SINK-");
        let response_source = name("-subscription-response-source", "KTABLE-SOURCE-");
        let resolver_name = name(
            "-subscription-response-resolver",
            "KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-RESOLVER-PROCESSOR-",
        );
        let output_name = name("-result", "KTABLE-FK-JOIN-OUTPUT-");
        // `MaterializedInternal` names the result's store whether or not it is kept.
        let output_store = g.new_name("KTABLE-FK-JOIN-OUTPUT-STATE-STORE-");

        let processor = |stores: Vec<String>| NodeKind::Processor { stores };
        let send = g.add_node(send_name, processor(vec![]), &[self.stream.last()]);
        let sink = g.add_node(
            subscription_sink,
            NodeKind::Sink(SinkTopic::Name(subscription_topic.clone())),
            &[send],
        );
        let topics = SourceTopics::Names(vec![subscription_topic.clone()]);
        let source = g.add_node(subscription_source, NodeKind::Source(topics.clone()), &[]);
        let receive = g.add_node(receive_name, processor(vec![subscription_store.clone()]), &[source]);
        let join = g.add_node(join_name, processor(vec![right_store]), &[receive]);
        let foreign =
            g.add_node(foreign_name, processor(vec![subscription_store.clone()]), &[other.stream.last()]);
        let response = g.add_node(
            response_sink,
            NodeKind::Sink(SinkTopic::Name(response_topic.clone())),
            &[join, foreign],
        );
        let response_topics = SourceTopics::Names(vec![response_topic.clone()]);
        let answers = g.add_node(response_source, NodeKind::Source(response_topics.clone()), &[]);
        let resolver = g.add_node(resolver_name, processor(vec![left_store]), &[answers]);
        let output = g.add_node(output_name, processor(vec![]), &[resolver]);
        let outlet = g.new_outlet::<K, crate::record::Change<R>>(false);
        for topic in [&subscription_topic, &response_topic] {
            g.internal_topics.push(topic.clone());
            // Each is read where the table it meets is: as many partitions as that table's.
            g.copartitioned_topics.push(topic.clone());
        }

        // Right task: subscriptions in, answers out.
        let (store, topic) = (subscription_store.clone(), response_topic.clone());
        let factory: SourceFactory = Arc::new(move |tb| {
            let join = SubscriptionJoinProc::<K::Codec, KO::Codec, VO::Codec> {
                store: tb.stores.get_or_create(&store, || SubscriptionStore::new::<K::Codec>(&store)),
                foreign: right_getter(tb),
                topic: tb.topic(&topic),
                dropped: tb.dropped.clone(),
                e2e_slot: tb.e2e_slot(response),
            };
            Box::new(SourceProc::<Option<KO::Codec>, SubscriptionCodec<K::Codec>>::new(
                Box::new(join),
                tb.dropped.clone(),
            ))
        });
        g.sources.push(SourceSpec { node: source, topics, factory });

        // Left task: answers in, the joined table out.
        let lineage = Lineage::source_in(&mut g);
        let id = lineage.id();
        let store_name = output_store.clone();
        let factory: SourceFactory = Arc::new(move |tb| {
            let next = tb.downstream(outlet);
            let table = TableSourceProc::new::<K::Codec, R::Codec>(tb, id, &store_name, next);
            let resolve = ResponseJoinProc::<K::Codec, V::Codec, VO, R> {
                current: left_getter(tb),
                joiner: joiner.clone(),
                left_join,
                dropped: tb.dropped.clone(),
                next: Box::new(TerminalProbe { slot: tb.terminal_slot(output), inner: table }),
            };
            Box::new(SourceProc::<K::Codec, ResponseCodec<VO::Codec>>::new(
                Box::new(resolve),
                tb.dropped.clone(),
            ))
        });
        g.sources.push(SourceSpec { node: answers, topics: response_topics, factory });
        drop(g);

        // Left task: left updates out as subscriptions.
        let (topic, foreign_key) = (subscription_topic, Arc::new(foreign_key));
        self.stream.clone().end_with(move |tb| {
            let fk = foreign_key.clone();
            SubscriptionSendProc::<K::Codec, V::Codec, KO::Codec> {
                foreign_key: Arc::new(move |v: &V| fk(v).into_foreign_key()),
                left_join,
                topic: tb.topic(&topic),
                dropped: tb.dropped.clone(),
                e2e_slot: tb.e2e_slot(sink),
                _codecs: PhantomData,
            }
        });
        // Right task: right updates out as answers to their subscribers.
        let (store, topic) = (subscription_store, response_topic);
        other.stream.clone().end_with(move |tb| ForeignJoinProc::<K::Codec, KO::Codec, VO::Codec> {
            store: tb.stores.get_or_create(&store, || SubscriptionStore::new::<K::Codec>(&store)),
            topic: tb.topic(&topic),
            dropped: tb.dropped.clone(),
            e2e_slot: tb.e2e_slot(response),
            _codecs: PhantomData,
        });

        let store_name = output_store.clone();
        let getter: GetterFactory<K, R> = Arc::new(move |tb| {
            let store = tb.key_value_store::<K::Codec, R::Codec>(&store_name);
            Box::new(move |k, _| store.get(k))
        });
        let stream = KStream::new(builder, outlet, output, Nop::new());
        KTable::new(stream, lineage, lineage, Some((output, output_store))).with_getter(getter)
    }
}
