//! The typed builder API: handles whose methods each add one typed operator to the graph.
//! This is what `topology!` expands into, and what a person can write by hand.

mod builder;
mod cogrouped;
mod foreign_key;
mod grouped;
mod kstream;
pub(crate) mod ktable;
mod process;
mod split;
mod suppressed;
mod windowed;

pub use builder::{GlobalKTable, NamedSource, StreamsBuilder, Topology};
pub use cogrouped::CogroupedKStream;
pub use foreign_key::ForeignKey;
pub use grouped::{KGroupedStream, KGroupedTable};
pub use kstream::{KStream, MergeableWith, Repartitioned};
pub use ktable::{KTable, MayDelete, NeverDeletes, Tombstones};
pub use split::{BranchedKStream, Branches};
pub use suppressed::{BufferConfig, Suppressed};
pub use windowed::{SessionWindowedKStream, SlidingWindowedKStream, TimeWindowedKStream};
