//! Word count on the embedded cluster: `cargo run --release --example wordcount`
//! (`-- --help` for the standard command line).

use std::process::ExitCode;

use examples::wordcount;

fn main() -> ExitCode {
    streams_runtime::cli::run("wordcount", wordcount::topology(), wordcount::demo)
}
