//! Kafka Streams for Rust, with topologies checked by the compiler.
//!
//! A topology is built with typed handles ([`KStream`], …) or declared with the
//! `topology!` macro, which expands into the same calls. Keys and values are typed by
//! [codecs](codec) that are byte-compatible with Kafka's Java serializers; closures see the
//! plain values. [`TestDriver`] runs a topology synchronously.
#![forbid(unsafe_code)]

pub mod cli;
pub mod cluster;
pub mod codec;
pub mod config;
pub mod dsl;
pub mod error;
pub(crate) mod graph;
pub mod metrics;
// The operators. Their stage types appear in the type of a `KStream` (a chain of stateless
// stages is one type, fused at compile time), so the module is public. Not `doc(hidden)`:
// rustc then spells them with their whole path in error messages.
pub mod ops;
pub mod partitioner;
pub mod processor;
pub mod record;
pub mod runner;
pub mod state;
pub(crate) mod task;
pub mod testing;
pub mod windows;

#[doc(inline)]
pub use codec::{Bytes, Codec, CodecFor, DefaultCodec, Json};
pub use config::{OnDecodeError, OnInvalidTimestamp, OnProcessingError, OnProductionError, StreamsConfig};
pub use dsl::{
    BranchedKStream, Branches, BufferConfig, GlobalKTable, KStream, Repartitioned, StreamsBuilder,
    Suppressed, Topology,
};
pub use error::{CodecError, StreamsError};
pub use graph::optimize::Optimizations;
pub use graph::{Data, TopologyDescription};
pub use metrics::{Metric, MetricName, MetricValue, RecordingLevel};
pub use ops::stream_stream_join::JoinWindows;
pub use record::{Headers, RawRecord, Record};
pub use runner::query::{HostInfo, KeyQueryMetadata, StreamsMetadata};
pub use runner::{InputGuard, KafkaStreams, RunMode, State, ThreadResponse};
pub use state::query::{QueryError, StoreQuery};
#[doc(inline)]
pub use streams_macros::{topology, Json};
pub use testing::{TestDriver, TestInputTopic, TestOutputTopic, VersionedStoreView};
pub use windows::{SessionWindow, SessionWindows, SlidingWindows, TimeWindows, Window, Windowed};

/// Everything a topology file needs: `use streams_runtime::prelude::*;`.
pub mod prelude {
    pub use crate::codec::{Bytes, Codec, DefaultCodec, Json, SessionWindowed, TimeWindowed, TimeWindowedOf};
    pub use crate::config::{OnDecodeError, OnInvalidTimestamp, OnProcessingError, OnProductionError};
    pub use crate::dsl::{BufferConfig, KStream, Repartitioned, StreamsBuilder, Suppressed, Topology};
    pub use crate::graph::optimize::Optimizations;
    pub use crate::ops::stream_stream_join::JoinWindows;
    pub use crate::record::{Headers, Record};
    pub use crate::testing::TestDriver;
    pub use crate::windows::{SessionWindow, SessionWindows, SlidingWindows, TimeWindows, Window, Windowed};
    pub use streams_macros::{topology, Json};
}
