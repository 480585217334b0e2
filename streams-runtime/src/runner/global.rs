//! The global stream thread (Kafka's `GlobalStreamThread`): after the bootstrap, which reads
//! every global topic to its end before any task starts, it keeps the global tables up to
//! date while the tasks run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "kafka")]
use rdkafka::consumer::{BaseConsumer, Consumer};
#[cfg(feature = "kafka")]
use rdkafka::{Message, Offset};

use super::{Positions, Shared};
#[cfg(feature = "kafka")]
use crate::cluster::kafka::{kafka_error, raw_record};
use crate::cluster::Cluster;
use crate::error::StreamsError;
use crate::ops::global_table::GlobalStores;

/// Where the global topics are read from.
pub(crate) enum GlobalInput {
    Embedded(Arc<dyn Cluster>),
    /// A consumer assigned every global partition from where the bootstrap stopped.
    #[cfg(feature = "kafka")]
    Kafka(BaseConsumer),
}

pub(crate) struct GlobalThread {
    pub(crate) input: GlobalInput,
    pub(crate) globals: Arc<GlobalStores>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) idle: Arc<AtomicBool>,
    /// The next offset of every global partition.
    pub(crate) positions: Positions,
}

impl GlobalThread {
    pub(crate) fn run(self) {
        if let Err(e) = self.run_loop() {
            tracing::error!(error = %e, "global stream thread stopped");
            self.shared.error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
            self.shared.shutdown.store(true, Ordering::SeqCst);
        }
        self.idle.store(true, Ordering::SeqCst);
    }

    fn run_loop(&self) -> Result<(), StreamsError> {
        while !self.shared.shutdown.load(Ordering::SeqCst) {
            let applied = match &self.input {
                GlobalInput::Embedded(cluster) => self.poll_embedded(cluster.as_ref())?,
                #[cfg(feature = "kafka")]
                GlobalInput::Kafka(consumer) => self.poll_kafka(consumer)?,
            };
            self.idle.store(applied == 0, Ordering::SeqCst);
        }
        Ok(())
    }

    fn poll_embedded(&self, cluster: &dyn Cluster) -> Result<usize, StreamsError> {
        let mut applied = 0;
        let mut positions = self.positions.lock().unwrap_or_else(|p| p.into_inner());
        for ((topic, partition), position) in positions.iter_mut() {
            let batch = cluster.fetch(topic, *partition, *position, 1_000);
            for raw in &batch {
                self.globals.apply(raw)?;
            }
            *position += batch.len() as u64;
            applied += batch.len();
        }
        drop(positions);
        if applied == 0 {
            cluster.wait_for_data(Duration::from_millis(5));
        }
        Ok(applied)
    }

    #[cfg(feature = "kafka")]
    fn poll_kafka(&self, consumer: &BaseConsumer) -> Result<usize, StreamsError> {
        let mut applied = 0;
        let mut topic: Option<Arc<str>> = None;
        while applied < 1_000 {
            let wait = if applied == 0 { Duration::from_millis(10) } else { Duration::ZERO };
            let Some(message) = consumer.poll(wait) else { break };
            let m = message.map_err(|e| kafka_error("cannot read a global topic", e))?;
            let name = match &topic {
                Some(t) if **t == *m.topic() => t.clone(),
                _ => topic.insert(Arc::from(m.topic())).clone(),
            };
            self.globals.apply(&raw_record(&m, name))?;
            self.positions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert((m.topic().to_string(), m.partition() as u32), m.offset() as u64 + 1);
            applied += 1;
        }
        if applied == 0 {
            // Past transaction markers, which are never handed out as records.
            let at = consumer.position().map_err(|e| kafka_error("position", e))?;
            let mut positions = self.positions.lock().unwrap_or_else(|p| p.into_inner());
            for e in at.elements() {
                if let (Offset::Offset(o), Some(p)) =
                    (e.offset(), positions.get_mut(&(e.topic().to_string(), e.partition() as u32)))
                {
                    *p = (*p).max(o as u64);
                }
            }
        }
        Ok(applied)
    }
}
