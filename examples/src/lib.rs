//! Example topologies live beside this crate as `cargo run --example NAME`.
