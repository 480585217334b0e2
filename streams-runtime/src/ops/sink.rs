//! Sinks: encode each record with the sink's codecs and send it to a topic, fixed or chosen
//! per record.

use std::marker::PhantomData;
use std::sync::Arc;

use super::{Context, Placement, Processor};
use crate::codec::Codec;
use crate::record::Record;

/// Which topic a sink writes to.
pub(crate) enum SinkTarget<F> {
    /// Always this topic.
    Topic(String),
    /// `f(&key, &value)` names the topic (Kafka's `TopicNameExtractor`).
    Extract(Arc<F>),
}

impl<F> Clone for SinkTarget<F> {
    fn clone(&self) -> Self {
        match self {
            SinkTarget::Topic(t) => SinkTarget::Topic(t.clone()),
            SinkTarget::Extract(f) => SinkTarget::Extract(f.clone()),
        }
    }
}

/// Encodes with `KC`/`VC` and hands the bytes to the task's record collector.
pub(crate) struct SinkProc<KC, VC, F> {
    pub(crate) target: SinkTarget<F>,
    /// Where it records end-to-end latency (a sink is a terminal node).
    pub(crate) e2e_slot: usize,
    pub(crate) _codecs: PhantomData<fn(KC, VC)>,
}

impl<KC, VC, F> Processor<KC::Value, VC::Value> for SinkProc<KC, VC, F>
where
    KC: Codec,
    VC: Codec,
    F: Fn(&KC::Value, &VC::Value) -> String + Send + Sync,
{
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<KC::Value, VC::Value>) {
        ctx.probe.e2e(self.e2e_slot, ctx.wall_clock, record.timestamp);
        let topic = match &self.target {
            SinkTarget::Topic(_) => None,
            SinkTarget::Extract(f) => Some(f(&record.key, &record.value)),
        };
        let Record { key, value, timestamp, headers } = record;
        let topic = match (&self.target, &topic) {
            (_, Some(topic)) => topic.as_str(),
            (SinkTarget::Topic(topic), None) => topic.as_str(),
            (SinkTarget::Extract(_), None) => unreachable!("extracted above"),
        };
        let Some((key, value)) = ctx.encoded::<KC, VC>(topic, key, value) else { return };
        let placement = key
            .as_deref()
            .and_then(KC::partition_key)
            .map_or(Placement::ByKey, |b| Placement::ByKeyPrefix(b.len()));
        ctx.collector.send_placed(topic, placement, key, value, timestamp, &headers);
    }
}
