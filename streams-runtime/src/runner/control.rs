//! `SHUTDOWN_APPLICATION` across instances. Kafka Streams carries the request in the
//! rebalance protocol (the group leader's assignor answers every member with the assignment
//! error `SHUTDOWN_APPLICATION`); librdkafka's assignors cannot be extended from here, so the
//! request travels in a topic of the application's own, `<application.id>-shutdown-requests`
//! (one partition, created with the internal topics, deleted by the reset tool): the
//! instance whose handler answers `ShutdownApplication` appends the error to it, and every
//! instance watches its end and stops when it grows.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::Shared;
use crate::cluster::Cluster;
use crate::error::StreamsError;
use crate::record::Headers;

/// How often an instance looks for a request.
const WATCH_EVERY: Duration = Duration::from_millis(250);

/// The topic carrying an application's shutdown requests.
pub(crate) fn requests_topic(application_id: &str) -> String {
    format!("{application_id}-shutdown-requests")
}

/// Where an application's shutdown requests are written and read.
pub(crate) trait ShutdownRequests: Send + Sync {
    /// Asks every instance to stop, saying why.
    fn request(&self, reason: &str) -> Result<(), StreamsError>;
    /// The reason of the first request made since this instance started, if one was.
    fn requested(&self) -> Option<String>;
}

/// Stops this instance when any instance requests the application's shutdown: the error
/// `run` returns is [`StreamsError::ApplicationShutdown`] (the requesting instance keeps its
/// own). Ends when the instance stops.
pub(crate) fn watch(shared: Arc<Shared>, requests: Arc<dyn ShutdownRequests>) {
    let spawned = std::thread::Builder::new().name("shutdown-requests".into()).spawn(move || {
        while !shared.shutdown.load(Ordering::SeqCst) {
            if let Some(reason) = requests.requested() {
                tracing::error!(%reason, "the application's shutdown was requested; stopping");
                let error = StreamsError::ApplicationShutdown { reason };
                shared.error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(error);
                shared.shutdown.store(true, Ordering::SeqCst);
                break;
            }
            std::thread::sleep(WATCH_EVERY);
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot watch for shutdown requests");
    }
}

/// Requests on the embedded cluster.
pub(crate) struct EmbeddedRequests {
    cluster: Arc<dyn Cluster>,
    topic: String,
    /// The topic's end when this instance started.
    from: u64,
}

impl EmbeddedRequests {
    pub(crate) fn new(cluster: Arc<dyn Cluster>, application_id: &str) -> Result<Self, StreamsError> {
        let topic = requests_topic(application_id);
        cluster.create_topic(&topic, 1)?;
        let from = cluster.end_offset(&topic, 0);
        Ok(EmbeddedRequests { cluster, topic, from })
    }
}

impl ShutdownRequests for EmbeddedRequests {
    fn request(&self, reason: &str) -> Result<(), StreamsError> {
        let value = Some(reason.as_bytes().to_vec());
        let now = super::thread::now_ms();
        self.cluster.produce(&self.topic, Some(0), None, value, now, Headers::default()).map(|_| ())
    }

    fn requested(&self) -> Option<String> {
        let first = self.cluster.fetch(&self.topic, 0, self.from, 1).into_iter().next()?;
        Some(String::from_utf8_lossy(first.value.as_deref().unwrap_or_default()).into_owned())
    }
}

#[cfg(feature = "kafka")]
pub(crate) use kafka::KafkaRequests;

#[cfg(feature = "kafka")]
mod kafka {
    use std::sync::Arc;

    use rdkafka::consumer::BaseConsumer;

    use super::{requests_topic, ShutdownRequests};
    use crate::cluster::kafka::{watermarks, KafkaClients};
    use crate::error::StreamsError;
    use crate::record::Headers;

    /// Requests on Kafka (the topic is created with the internal topics).
    pub(crate) struct KafkaRequests {
        clients: Arc<KafkaClients>,
        consumer: BaseConsumer,
        topic: String,
        application_id: String,
        /// The topic's end when this instance started.
        from: u64,
    }

    impl KafkaRequests {
        pub(crate) fn new(clients: Arc<KafkaClients>, application_id: &str) -> Result<Self, StreamsError> {
            let topic = requests_topic(application_id);
            let consumer = clients.plain_consumer(&format!("{application_id}-shutdown-requests"))?;
            // Just created: retried while the topic's metadata reaches the broker.
            let mut attempts = 0;
            let (_, from) = loop {
                match watermarks(&consumer, &topic, 0) {
                    Ok(w) => break w,
                    Err(_) if attempts < 20 => {
                        attempts += 1;
                        std::thread::sleep(std::time::Duration::from_millis(500));
                    }
                    Err(e) => return Err(e),
                }
            };
            Ok(KafkaRequests { clients, consumer, topic, application_id: application_id.to_string(), from })
        }
    }

    impl ShutdownRequests for KafkaRequests {
        fn request(&self, reason: &str) -> Result<(), StreamsError> {
            let producer = self.clients.producer(&format!("{}-shutdown-request", self.application_id))?;
            let now = crate::runner::thread::now_ms();
            producer.send(&self.topic, Some(0), None, Some(reason.as_bytes()), now, &Headers::default())?;
            producer.flush()
        }

        fn requested(&self) -> Option<String> {
            let (_, end) = watermarks(&self.consumer, &self.topic, 0).ok()?;
            if end <= self.from {
                return None;
            }
            let mut first = None;
            let read = self.clients.read_to_end(&self.consumer, &self.topic, &[0], |r| {
                if r.offset >= self.from && first.is_none() {
                    first =
                        Some(String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned());
                }
                Ok(())
            });
            if let Err(e) = read {
                tracing::debug!(error = %e, "cannot read the shutdown requests yet");
            }
            first
        }
    }
}
