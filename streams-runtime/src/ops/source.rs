//! Sources: decode a topic's bytes with the source's codecs into typed records.

use std::marker::PhantomData;

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
pub(crate) struct SourceProc<KC: Codec, VC: Codec> {
    pub(crate) next: Box<dyn Processor<KC::Value, VC::Value>>,
    pub(crate) _codecs: PhantomData<fn(KC, VC)>,
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
        let key = decode::<KC>(raw, RecordPart::Key)?;
        let value = decode::<VC>(raw, RecordPart::Value)?;
        let record = Record { key, value, timestamp: raw.timestamp, headers: raw.headers.clone() };
        self.next.process(ctx, record);
        Ok(())
    }
}
