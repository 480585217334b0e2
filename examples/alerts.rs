//! Sensor alerts on the embedded cluster: `cargo run --example alerts` (`-- --help` for the
//! standard command line).

use std::process::ExitCode;

use examples::alerts;

fn main() -> ExitCode {
    streams_runtime::cli::run("alerts", alerts::topology(), alerts::demo)
}
