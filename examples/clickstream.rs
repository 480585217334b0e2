//! Clickstream enrichment on the embedded cluster: `cargo run --release --example clickstream`.

use std::process::ExitCode;

use examples::clickstream;

fn main() -> ExitCode {
    streams_runtime::cli::run("clickstream", clickstream::topology(), clickstream::demo)
}
