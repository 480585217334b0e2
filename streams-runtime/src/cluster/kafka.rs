//! Apache Kafka through librdkafka (`rdkafka`): client configuration from Kafka Streams'
//! names, the admin operations a run needs (metadata, internal topics, the reset tool) and a
//! producer that keeps the first delivery error, so a commit never goes past a lost write.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::{ClientConfig, FromClientConfigAndContext};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, DefaultConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, Headers as _, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

use crate::config::StreamsConfig;
use crate::error::StreamsError;
use crate::record::{Headers, RawRecord};

/// How long a metadata or admin request may take.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long adding offsets to a transaction may take (it takes milliseconds when the group
/// coordinator answers; past this the commit fails and the tasks are rebuilt).
const SEND_OFFSETS_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn kafka_error(what: &str, e: impl std::fmt::Display) -> StreamsError {
    StreamsError::Kafka(format!("{what}: {e}"))
}

/// Client settings for one Kafka cluster: `bootstrap.servers`, plus every `consumer.`,
/// `producer.` and `admin.` prefixed key passed to that client with the prefix removed
/// (Kafka Streams' convention), and unprefixed `security.*`, `sasl.*`, `ssl.*` keys for all.
#[derive(Debug, Clone)]
pub struct KafkaClients {
    bootstrap: String,
    common: Vec<(String, String)>,
    by_role: BTreeMap<&'static str, Vec<(String, String)>>,
}

impl KafkaClients {
    /// The clients for `config`, which must set `bootstrap.servers`.
    pub fn new(config: &StreamsConfig) -> Result<Self, StreamsError> {
        let bootstrap = config
            .bootstrap_servers()
            .ok_or_else(|| StreamsError::Config("`bootstrap.servers` is required for Kafka".into()))?
            .to_string();
        let mut common = Vec::new();
        let mut by_role: BTreeMap<&'static str, Vec<(String, String)>> = BTreeMap::new();
        for (k, v) in config.iter() {
            if ["security.", "sasl.", "ssl."].iter().any(|p| k.starts_with(p)) {
                common.push((k.to_string(), v.to_string()));
            }
            for role in ["consumer", "producer", "admin"] {
                if let Some(rest) = k.strip_prefix(role).and_then(|r| r.strip_prefix('.')) {
                    by_role.entry(role).or_default().push((rest.to_string(), v.to_string()));
                }
            }
        }
        Ok(KafkaClients { bootstrap, common, by_role })
    }

    /// `bootstrap.servers`, when the brokers are reached without TLS or SASL (what a client
    /// speaking Kafka's protocol by itself, as `group_describe`, can talk to).
    pub(crate) fn plaintext_bootstrap(&self) -> Option<&str> {
        let protocol =
            self.common.iter().rev().find(|(k, _)| k == "security.protocol").map(|(_, v)| v.as_str());
        protocol.is_none_or(|p| p.eq_ignore_ascii_case("plaintext")).then_some(self.bootstrap.as_str())
    }

    /// The user's setting of `key` for `role` clients (`consumer.group.protocol`, ...).
    pub(crate) fn setting(&self, role: &str, key: &str) -> Option<&str> {
        self.by_role.get(role)?.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A client configuration for `role` (`consumer`, `producer` or `admin`): the defaults
    /// given here, overridden by the user's keys for that role.
    pub fn config(&self, role: &str, defaults: &[(&str, &str)]) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap);
        for (k, v) in defaults {
            c.set(*k, *v);
        }
        for (k, v) in self.common.iter().chain(self.by_role.get(role).into_iter().flatten()) {
            c.set(k, v);
        }
        c
    }

    /// A consumer that only reads assigned partitions (metadata, restoring, reading back):
    /// its group id is never joined nor committed to.
    pub fn plain_consumer(&self, client_id: &str) -> Result<BaseConsumer, StreamsError> {
        self.consumer_with(client_id, &[("group.id", client_id)], DefaultConsumerContext)
    }

    pub(crate) fn consumer_with<C: ConsumerContext>(
        &self,
        client_id: &str,
        extra: &[(&str, &str)],
        context: C,
    ) -> Result<BaseConsumer<C>, StreamsError> {
        let mut defaults = vec![
            ("client.id", client_id),
            ("enable.auto.commit", "false"),
            ("auto.offset.reset", "earliest"),
            ("enable.partition.eof", "false"),
        ];
        defaults.extend_from_slice(extra);
        BaseConsumer::from_config_and_context(&self.config("consumer", &defaults), context)
            .map_err(|e| kafka_error("cannot create a consumer", e))
    }

    /// A producer placing keyed records as Java clients do (`murmur2_random`).
    pub fn producer(&self, client_id: &str) -> Result<KafkaProducer, StreamsError> {
        self.producer_with(client_id, &[])
    }

    /// A transactional producer (exactly-once), its transactions initialized and one begun.
    /// As in Kafka Streams, `transaction.timeout.ms` is 10 s: a crashed instance's open
    /// transaction holds back readers for at most that long.
    pub fn transactional_producer(
        &self,
        client_id: &str,
        transactional_id: &str,
    ) -> Result<KafkaProducer, StreamsError> {
        let producer = self.uninitialized_transactional_producer(client_id, transactional_id)?;
        producer.init_transactions()?;
        Ok(producer)
    }

    /// A transactional producer that has not talked to the broker yet: nothing happens to
    /// the transactional id until [`KafkaProducer::init_transactions`].
    pub(crate) fn uninitialized_transactional_producer(
        &self,
        client_id: &str,
        transactional_id: &str,
    ) -> Result<KafkaProducer, StreamsError> {
        self.producer_with(
            client_id,
            &[("transactional.id", transactional_id), ("transaction.timeout.ms", "10000")],
        )
    }

    fn producer_with(&self, client_id: &str, extra: &[(&str, &str)]) -> Result<KafkaProducer, StreamsError> {
        let mut defaults = vec![
            ("client.id", client_id),
            ("partitioner", "murmur2_random"),
            ("linger.ms", "5"),
            ("acks", "all"),
            // The Java producer's default since Kafka 3.0 (KIP-679), which Kafka Streams keeps
            // at-least-once; librdkafka's is off. Without it, a batch retried after a broker
            // restart can land after a later one: a count's older value becomes the last one
            // of its key, on the output and on the changelog a restore reads.
            ("enable.idempotence", "true"),
        ];
        defaults.extend_from_slice(extra);
        let inner = BaseProducer::from_config_and_context(
            &self.config("producer", &defaults),
            DeliveryErrors::default(),
        )
        .map_err(|e| kafka_error("cannot create a producer", e))?;
        Ok(KafkaProducer {
            inner: Arc::new(inner),
            partitions: Mutex::default(),
            given_up: AtomicBool::new(false),
        })
    }

    pub(crate) fn admin(&self) -> Result<AdminClient<DefaultClientContext>, StreamsError> {
        self.config("admin", &[]).create().map_err(|e| kafka_error("cannot create an admin client", e))
    }

    /// Every topic and its partition count.
    pub fn topics(&self) -> Result<BTreeMap<String, u32>, StreamsError> {
        let consumer = self.plain_consumer("streams-metadata")?;
        let metadata = consumer
            .fetch_metadata(None, REQUEST_TIMEOUT)
            .map_err(|e| kafka_error(&format!("cannot read metadata from {}", self.bootstrap), e))?;
        Ok(metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none() && !t.partitions().is_empty())
            .map(|t| (t.name().to_string(), t.partitions().len() as u32))
            .collect())
    }

    /// Creates topics (name, partitions, configs) that do not exist yet, with
    /// `replication.factor` (-1: the broker's default). [`Self::kept_configs`] keeps every
    /// record; the application's internal topics get Kafka Streams' configs.
    pub async fn create_topics(
        &self,
        topics: &[(String, u32, BTreeMap<String, String>)],
        replication_factor: i32,
    ) -> Result<(), StreamsError> {
        if topics.is_empty() {
            return Ok(());
        }
        let new: Vec<NewTopic<'_>> = topics
            .iter()
            .map(|(name, partitions, configs)| {
                let t = NewTopic::new(name, *partitions as i32, TopicReplication::Fixed(replication_factor));
                configs.iter().fold(t, |t, (k, v)| t.set(k, v))
            })
            .collect();
        let results = self
            .admin()?
            .create_topics(&new, &AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT)))
            .await
            .map_err(|e| kafka_error("cannot create topics", e))?;
        for result in results {
            match result {
                Ok(name) => tracing::info!(topic = %name, "created topic"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => return Err(kafka_error(&format!("cannot create topic `{name}`"), code)),
            }
        }
        // A consumer subscribing before the topics show in metadata would not be assigned
        // them until its next metadata refresh: wait until they do.
        let started = std::time::Instant::now();
        loop {
            let known = self.topics()?;
            if topics.iter().all(|(t, n, _)| known.get(t) == Some(n)) {
                return Ok(());
            }
            if started.elapsed() > REQUEST_TIMEOUT {
                return Err(StreamsError::Kafka("created topics did not appear in the metadata".into()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The configs of a topic that keeps its records until deleted on purpose (input and
    /// output topics the command line creates): time-based retention would drop records
    /// whose event time is old.
    pub fn kept_configs() -> BTreeMap<String, String> {
        BTreeMap::from([("retention.ms".to_string(), "-1".to_string())])
    }

    /// Deletes topics; missing ones are not an error.
    pub async fn delete_topics(&self, topics: &[String]) -> Result<(), StreamsError> {
        if topics.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        let results = self
            .admin()?
            .delete_topics(&names, &AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT)))
            .await
            .map_err(|e| kafka_error("cannot delete topics", e))?;
        for result in results {
            match result {
                Ok(name) => tracing::info!(topic = %name, "deleted topic"),
                Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {}
                Err((name, code)) => return Err(kafka_error(&format!("cannot delete topic `{name}`"), code)),
            }
        }
        Ok(())
    }

    /// Deletes a consumer group and so its committed offsets; it must have no members.
    pub async fn delete_group(&self, group: &str) -> Result<(), StreamsError> {
        let results = self
            .admin()?
            .delete_groups(&[group], &AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT)))
            .await
            .map_err(|e| kafka_error("cannot delete the consumer group", e))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::GroupIdNotFound)) => {}
                Err((_, RDKafkaErrorCode::NonEmptyGroup)) => {
                    return Err(StreamsError::Kafka(format!(
                        "consumer group `{group}` still has members: stop every instance of the application first"
                    )))
                }
                Err((name, code)) => return Err(kafka_error(&format!("cannot delete group `{name}`"), code)),
            }
        }
        Ok(())
    }

    /// Reads `partitions` of `topic` from the beginning up to their current end, giving each
    /// record to `apply`. Returns how many records were read.
    pub fn read_to_end(
        &self,
        consumer: &BaseConsumer,
        topic: &str,
        partitions: &[u32],
        apply: impl FnMut(RawRecord) -> Result<(), StreamsError>,
    ) -> Result<u64, StreamsError> {
        self.read_until(consumer, topic, partitions, None, &|low, _| low, apply)
    }

    /// [`Self::read_to_end`], from the offset `start(low, high)` gives for a partition holding
    /// `low..high` (a persistent store: after its checkpoint), stopping before offset `until`
    /// if given (a table's source topic read as its changelog: up to the task's committed
    /// offset).
    pub(crate) fn read_until(
        &self,
        consumer: &BaseConsumer,
        topic: &str,
        partitions: &[u32],
        until: Option<i64>,
        start: &dyn Fn(u64, u64) -> u64,
        mut apply: impl FnMut(RawRecord) -> Result<(), StreamsError>,
    ) -> Result<u64, StreamsError> {
        let mut tpl = TopicPartitionList::new();
        // Partition → its end when reading started; empty partitions are done already.
        let mut ends: BTreeMap<u32, i64> = BTreeMap::new();
        for &p in partitions {
            let (low, high) = watermarks(consumer, topic, p)?;
            let from = start(low, high);
            let high = until.map_or(high, |u| high.min(u.max(0) as u64));
            if high > from {
                let offset = if from > low { Offset::Offset(from as i64) } else { Offset::Beginning };
                tpl.add_partition_offset(topic, p as i32, offset)
                    .map_err(|e| kafka_error("cannot assign", e))?;
                ends.insert(p, high as i64);
            }
        }
        if ends.is_empty() {
            return Ok(0);
        }
        consumer.assign(&tpl).map_err(|e| kafka_error(&format!("cannot read `{topic}`"), e))?;
        let mut read = 0u64;
        let started = std::time::Instant::now();
        let mut last_warning = None;
        let topic_name: Arc<str> = Arc::from(topic);
        while !ends.is_empty() {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    let partition = m.partition() as u32;
                    let offset = m.offset();
                    apply(raw_record(&m, topic_name.clone()))?;
                    read += 1;
                    if ends.get(&partition).is_some_and(|end| offset + 1 >= *end) {
                        ends.remove(&partition);
                    }
                    if read.is_multiple_of(100_000) {
                        tracing::info!(topic, records = read, "reading");
                    }
                }
                // The broker away for a moment (a restart): librdkafka reconnects by itself.
                Some(Err(e)) if started.elapsed() < REQUEST_TIMEOUT * 4 => {
                    // librdkafka queues one such error per broker event (hundreds in a few
                    // ms when a broker goes away): drained at once, logged once a second.
                    if last_warning
                        .is_none_or(|at: std::time::Instant| at.elapsed() >= Duration::from_secs(1))
                    {
                        last_warning = Some(std::time::Instant::now());
                        tracing::warn!(topic, error = %e, "reading a changelog: retrying");
                    }
                }
                Some(Err(e)) => return Err(kafka_error(&format!("cannot read `{topic}`"), e)),
                None if started.elapsed() > REQUEST_TIMEOUT * 4 => {
                    return Err(StreamsError::Kafka(format!("reading `{topic}` to its end timed out")))
                }
                None => {
                    // A partition may end with transaction markers, which are never handed
                    // out as records but move the consumer's position past them.
                    let positions = consumer.position().map_err(|e| kafka_error("position", e))?;
                    ends.retain(|p, end| {
                        let at = positions.find_partition(topic, *p as i32).map(|e| e.offset());
                        !matches!(at, Some(Offset::Offset(o)) if o >= *end)
                    });
                }
            }
        }
        consumer.unassign().map_err(|e| kafka_error("cannot unassign", e))?;
        Ok(read)
    }
}

/// The first and next offsets of a partition, read from the broker. A reply without valid
/// offsets (the partition's leader not known yet) is retried, never taken for an empty
/// partition.
pub fn watermarks<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
    partition: u32,
) -> Result<(u64, u64), StreamsError> {
    let started = std::time::Instant::now();
    loop {
        // Right after a topic is created its leader may not be known yet: retried.
        let error = match consumer.fetch_watermarks(topic, partition as i32, REQUEST_TIMEOUT) {
            Ok((low, high)) if low >= 0 && high >= 0 => return Ok((low as u64, high as u64)),
            Ok((low, high)) => format!("no valid offsets ({low}, {high})"),
            Err(e) => e.to_string(),
        };
        if started.elapsed() > REQUEST_TIMEOUT {
            return Err(StreamsError::Kafka(format!(
                "cannot read the offsets of {topic}-{partition}: {error}"
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Copies a consumed message into a record.
pub(crate) fn raw_record(m: &BorrowedMessage<'_>, topic: Arc<str>) -> RawRecord {
    let mut headers = Headers::new();
    if let Some(hs) = m.headers() {
        for h in hs.iter() {
            headers.add(h.key, h.value.map(<[u8]>::to_vec));
        }
    }
    RawRecord {
        topic,
        partition: m.partition() as u32,
        offset: m.offset() as u64,
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        timestamp: m.timestamp().to_millis().unwrap_or(0),
        headers,
    }
}

/// Keeps the first failed delivery, and the last offset written to each changelog partition
/// (persistent stores' checkpoints).
#[derive(Default)]
pub(crate) struct DeliveryErrors {
    first: Mutex<Option<String>>,
    changelogs: Mutex<crate::state::persistent::Written>,
}

impl ClientContext for DeliveryErrors {}

impl ProducerContext for DeliveryErrors {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Err((e, m)) => {
                let mut first = self.first.lock().unwrap_or_else(|p| p.into_inner());
                first.get_or_insert_with(|| format!("writing to `{}` failed: {e}", m.topic()));
            }
            Ok(m) if m.topic().ends_with("-changelog") => {
                let mut written = self.changelogs.lock().unwrap_or_else(|p| p.into_inner());
                written.record(m.topic(), m.partition() as u32, m.offset().max(0) as u64);
            }
            Ok(_) => {}
        }
    }
}

/// A producer whose [`flush`](KafkaProducer::flush) fails if any record since the last
/// flush was not acknowledged.
pub struct KafkaProducer {
    /// Shared with a call that may not return (see [`KafkaProducer::commit_transaction`]).
    inner: Arc<BaseProducer<DeliveryErrors>>,
    /// Partition counts of the topics written to by partition.
    partitions: Mutex<BTreeMap<String, u32>>,
    /// A transactional call did not return: the producer can only be replaced.
    given_up: AtomicBool,
}

impl KafkaProducer {
    /// Queues a record: to `partition`, or where murmur2 of the key puts it.
    pub fn send(
        &self,
        topic: &str,
        partition: Option<u32>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp: i64,
        headers: &Headers,
    ) -> Result<(), StreamsError> {
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).timestamp(timestamp);
        if let Some(k) = key {
            record = record.key(k);
        }
        if let Some(v) = value {
            record = record.payload(v);
        }
        if let Some(p) = partition {
            record = record.partition(p as i32);
        }
        if !headers.is_empty() {
            let mut owned = OwnedHeaders::new_with_capacity(headers.iter().count());
            for (key, value) in headers.iter() {
                owned = owned.insert(Header { key, value });
            }
            record = record.headers(owned);
        }
        loop {
            match self.inner.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    self.inner.poll(Duration::from_millis(10));
                }
                Err((e, _)) => return Err(kafka_error(&format!("cannot write to `{topic}`"), e)),
            }
        }
    }

    /// The partition count of `topic` (read from the broker once).
    pub fn partitions(&self, topic: &str) -> Result<u32, StreamsError> {
        let mut known = self.partitions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = known.get(topic) {
            return Ok(*n);
        }
        let metadata = self
            .inner
            .client()
            .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
            .map_err(|e| kafka_error(&format!("cannot read the metadata of `{topic}`"), e))?;
        let n = metadata
            .topics()
            .first()
            .map(|t| t.partitions().len() as u32)
            .filter(|n| *n > 0)
            .ok_or_else(|| StreamsError::MissingSinkTopic(topic.to_string()))?;
        known.insert(topic.to_string(), n);
        Ok(n)
    }

    /// Serves delivery reports without waiting.
    pub fn poll(&self) {
        self.inner.poll(Duration::ZERO);
    }

    /// Waits until every queued record is acknowledged; fails if any was not.
    pub fn flush(&self) -> Result<(), StreamsError> {
        self.inner.flush(REQUEST_TIMEOUT * 4).map_err(|e| kafka_error("cannot flush the producer", e))?;
        self.delivery_error()
    }

    /// The offset of the last record acknowledged on partition `partition` of changelog
    /// `topic` (a topic named `…-changelog`).
    pub(crate) fn written(&self, topic: &str, partition: u32) -> Option<u64> {
        self.inner.context().changelogs.lock().unwrap_or_else(|p| p.into_inner()).get(topic, partition)
    }

    /// Forgets delivery failures reported so far (those of records a recovery sends again).
    pub fn clear_delivery_error(&self) {
        self.inner.context().first.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn delivery_error(&self) -> Result<(), StreamsError> {
        match self.inner.context().first.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(e) => Err(StreamsError::Kafka(e)),
            None => Ok(()),
        }
    }

    /// Commits the open transaction with the consumer positions `offsets` of the group
    /// `group` (KIP-447: a zombie of an older group generation is fenced), then begins the
    /// next one. Every record sent since the last commit becomes visible to `read_committed`
    /// consumers together with the offsets, or none does.
    pub fn commit_transaction(
        &self,
        offsets: TopicPartitionList,
        group: rdkafka::consumer::ConsumerGroupMetadata,
    ) -> Result<(), StreamsError> {
        if offsets.count() > 0 {
            self.send_offsets_to_transaction(offsets, group)?;
        }
        // librdkafka: a commit that times out goes on in the background ("retry call to
        // resume"); calling again waits for it. Aborting or replacing the producer meanwhile
        // conflicts with it, and a replaced producer's commit still in flight can leave a
        // transaction open on a partition for good.
        let deadline = std::time::Instant::now() + REQUEST_TIMEOUT * 4;
        loop {
            match self.inner.commit_transaction(REQUEST_TIMEOUT) {
                Ok(()) => break,
                Err(KafkaError::Transaction(e))
                    if e.is_retriable()
                        && !e.txn_requires_abort()
                        && std::time::Instant::now() < deadline =>
                {
                    tracing::warn!(error = %e, "the transaction's commit is taking long; waiting for it");
                }
                Err(e) => return Err(kafka_error("cannot commit the transaction", e)),
            }
        }
        self.delivery_error()?;
        self.inner.begin_transaction().map_err(|e| kafka_error("cannot begin a transaction", e))
    }

    /// Adds the consumer positions to the transaction, on a thread of its own: librdkafka's
    /// call may never return when the group coordinator went away and came back while it
    /// waited for it (its coordinator request's timeout is never checked,
    /// confluentinc/librdkafka#5456; seen here after the broker was frozen). Past its
    /// timeout and a margin the call is given up: the error closes the tasks dirty, and the
    /// producer, which cannot abort while the call is in progress, is replaced (which fences
    /// it); the waiting thread keeps the old one until the call returns.
    fn send_offsets_to_transaction(
        &self,
        offsets: TopicPartitionList,
        group: rdkafka::consumer::ConsumerGroupMetadata,
    ) -> Result<(), StreamsError> {
        let (done, answer) = std::sync::mpsc::sync_channel(1);
        let inner = self.inner.clone();
        std::thread::Builder::new()
            .name("send-offsets".into())
            .spawn(move || {
                let _ = done.send(inner.send_offsets_to_transaction(&offsets, &group, SEND_OFFSETS_TIMEOUT));
            })
            .map_err(|e| StreamsError::Kafka(format!("cannot start a thread: {e}")))?;
        let given = SEND_OFFSETS_TIMEOUT + Duration::from_secs(5);
        match answer.recv_timeout(given) {
            Ok(sent) => sent.map_err(|e| kafka_error("cannot add offsets to the transaction", e)),
            Err(_) => {
                self.given_up.store(true, Ordering::SeqCst);
                tracing::warn!("adding the offsets to the transaction did not return; giving the producer up (librdkafka#5456)");
                Err(StreamsError::Kafka(format!(
                    "adding the offsets to the transaction did not return within {} s",
                    given.as_secs()
                )))
            }
        }
    }

    /// Begins the next transaction (after an abort).
    pub fn begin_transaction(&self) -> Result<(), StreamsError> {
        self.inner.begin_transaction().map_err(|e| kafka_error("cannot begin a transaction", e))
    }

    /// Fences every earlier producer of the transactional id (their open transactions are
    /// aborted) and begins a transaction.
    pub(crate) fn init_transactions(&self) -> Result<(), StreamsError> {
        self.inner
            .init_transactions(REQUEST_TIMEOUT)
            .map_err(|e| kafka_error("cannot init transactions", e))?;
        self.begin_transaction()
    }

    /// Aborts the open transaction: nothing sent since the last commit becomes visible.
    ///
    /// librdkafka's abort purges the queued messages (with the flag that keeps the
    /// idempotent sequence consistent) and waits for their delivery reports, which a
    /// `BaseProducer` only gets by polling: the abort is called in short steps, serving the
    /// reports in between, so an abort with messages outstanding completes.
    pub fn abort_transaction(&self) -> Result<(), StreamsError> {
        if self.given_up.load(Ordering::SeqCst) {
            return Err(StreamsError::Kafka(
                "the producer was given up: a transactional call did not return".into(),
            ));
        }
        let deadline = std::time::Instant::now() + REQUEST_TIMEOUT;
        loop {
            match self.inner.abort_transaction(Duration::from_millis(500)) {
                Ok(()) => return Ok(()),
                // The abort goes on in the background; calling again resumes it, once the
                // purged and in-flight messages' reports are served.
                Err(KafkaError::Transaction(e))
                    if e.is_retriable() && std::time::Instant::now() < deadline =>
                {
                    let _ = self.inner.flush(Duration::from_millis(200));
                }
                Err(e) => return Err(kafka_error("cannot abort the transaction", e)),
            }
        }
    }
}
