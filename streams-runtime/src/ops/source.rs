//! Sources: decode a topic's bytes with the source's codecs into typed records.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{Context, Processor};
use crate::codec::Codec;
use crate::error::{RecordPart, StreamsError};
use crate::record::{RawRecord, Record};

/// The entry of a task: takes raw records of one source node.
pub(crate) trait RawProcessor: Send {
    /// Decodes `raw` and processes it; a decoding failure is returned untouched, for the
    /// task's configured handler to decide on.
    fn process_raw(&mut self, ctx: &mut Context<'_>, raw: &RawRecord) -> Result<(), StreamsError>;
}

/// Decodes with `KC`/`VC` and forwards.
///
/// A null key or value that its codec cannot hold (`String`, `i64`, ... rather than
/// `Option<C>`) is not a decoding error: the record is dropped, and counted where Kafka's
/// node downstream would count it (an aggregation, a join: [`Processor::null_drops`]; not
/// where user code would see the null). A codec of `Option<C>` lets the record through, null
/// and all.
pub(crate) struct SourceProc<KC: Codec, VC: Codec> {
    pub(crate) next: Box<dyn Processor<KC::Value, VC::Value>>,
    pub(crate) dropped: Arc<AtomicU64>,
    /// How the downstream counts nulls, asked once.
    counts: super::NullDrops,
    pub(crate) _codecs: PhantomData<fn(KC, VC)>,
}

impl<KC: Codec, VC: Codec> SourceProc<KC, VC> {
    pub(crate) fn new(next: Box<dyn Processor<KC::Value, VC::Value>>, dropped: Arc<AtomicU64>) -> Self {
        let counts = next.null_drops();
        SourceProc { next, dropped, counts, _codecs: PhantomData }
    }

    fn drop_null(&self, raw: &RawRecord, part: RecordPart) {
        let counted = match (raw.key.is_none(), raw.value.is_none()) {
            (true, true) => self.counts.both,
            (true, false) => self.counts.key,
            _ => self.counts.value,
        };
        self.dropped.fetch_add(counted, Ordering::Relaxed);
        tracing::debug!(
            topic = %raw.topic, partition = raw.partition, offset = raw.offset, ?part,
            "dropping a record whose null {part:?} its codec cannot hold"
        );
    }
}

fn decode<C: Codec>(raw: &RawRecord, part: RecordPart) -> Result<C::Value, StreamsError> {
    let bytes = match part {
        RecordPart::Key => raw.key.as_deref(),
        RecordPart::Value => raw.value.as_deref(),
    };
    C::decode(bytes).map_err(|source| StreamsError::Deserialization {
        topic: raw.topic.to_string(),
        partition: raw.partition,
        offset: raw.offset,
        part,
        codec: C::name(),
        source,
    })
}

impl<KC: Codec, VC: Codec> RawProcessor for SourceProc<KC, VC> {
    fn process_raw(&mut self, ctx: &mut Context<'_>, raw: &RawRecord) -> Result<(), StreamsError> {
        let key = match decode::<KC>(raw, RecordPart::Key) {
            Ok(key) => key,
            Err(_) if raw.key.is_none() => {
                self.drop_null(raw, RecordPart::Key);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let value = match decode::<VC>(raw, RecordPart::Value) {
            Ok(value) => value,
            Err(_) if raw.value.is_none() => {
                self.drop_null(raw, RecordPart::Value);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let record = Record { key, value, timestamp: raw.timestamp, headers: raw.headers.clone() };
        self.next.process(ctx, record);
        Ok(())
    }
}
