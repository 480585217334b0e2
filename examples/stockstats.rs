//! Stock statistics on the embedded cluster: `cargo run --release --example stockstats`
//! (`-- --input stocks=trades.jsonl` to replay your own trades).

use std::process::ExitCode;

use examples::stockstats;

fn main() -> ExitCode {
    streams_runtime::cli::run("stockstats", stockstats::topology(), stockstats::demo)
}
