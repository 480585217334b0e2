//! The seed's programs as topologies, shared by the example binaries (`cargo run --example
//! NAME`) and the tests.

pub mod alerts;
pub mod clickstream;
pub mod dedupe;
pub mod stockstats;
pub mod wordcount;
