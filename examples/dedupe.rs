//! Deduplication by event id with the Processor API (a store and a wall-clock punctuator), on
//! the embedded cluster: `cargo run --release --example dedupe` (`-- --help` for the standard
//! command line).

use std::process::ExitCode;

use examples::dedupe;

fn main() -> ExitCode {
    streams_runtime::cli::run("dedupe", dedupe::topology(), dedupe::demo)
}
