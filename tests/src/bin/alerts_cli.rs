//! The `alerts` example on the standard command line, for tests that run it as a process.

use std::process::ExitCode;

use examples::alerts;

fn main() -> ExitCode {
    streams_runtime::cli::run("alerts", alerts::topology(), alerts::demo)
}
