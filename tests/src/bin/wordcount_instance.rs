//! One instance of word count on Kafka, for the tests that run several in one group:
//! `wordcount_instance APPLICATION_ID INPUT OUTPUT [KEY=VALUE ...]` with `KAFKA_BOOTSTRAP`
//! set. Runs until SIGTERM (committing on the way out); prints `processed N` when it stops.

use std::process::ExitCode;

use streams_runtime::{KafkaStreams, RunMode};
use streams_tests::kafka;

fn main() -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [app, input, output, sets @ ..] = args.as_slice() else {
        eprintln!("usage: wordcount_instance APPLICATION_ID INPUT OUTPUT [KEY=VALUE ...]");
        return ExitCode::from(2);
    };
    let mut config = kafka::config(app);
    for set in sets {
        let (k, v) = set.split_once('=').expect("KEY=VALUE");
        config.set(k, v);
    }
    let streams = match KafkaStreams::connect(kafka::wordcount_topology(input, output), config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = kafka::block_on_multi(streams.run(RunMode::UntilShutdown));
    println!("processed {}", streams.processed_records());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
