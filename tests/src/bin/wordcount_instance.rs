//! One instance of word count on Kafka, for the tests that run several in one group:
//! `wordcount_instance APPLICATION_ID INPUT OUTPUT [KEY=VALUE ...]` with `KAFKA_BOOTSTRAP`
//! set. Runs until SIGTERM (committing on the way out); prints `processed N` when it stops.
//! With `STATE_DIR_SLOTS=BASE`, its `state.dir` is the first of `BASE/0`, `BASE/1`, … that no
//! other instance holds: an instance started after one was killed takes over its directory
//! (its persistent stores and checkpoints), as a restarted instance would on its machine.

use std::process::ExitCode;

use streams_runtime::{KafkaStreams, RunMode, ThreadResponse};
use streams_tests::kafka;

fn main() -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
    let Some(slots) = std::env::var_os("STATE_DIR_SLOTS") else {
        return run(input, output, config).unwrap_or(ExitCode::FAILURE);
    };
    for slot in 0..8 {
        let dir = std::path::Path::new(&slots).join(slot.to_string());
        config.set("state.dir", dir.to_str().expect("a UTF-8 path"));
        if let Some(code) = run(input, output, config.clone()) {
            return code;
        }
    }
    eprintln!("error: every state directory slot is in use");
    ExitCode::FAILURE
}

/// Runs until stopped; `None` if its state directory is in use by another instance.
fn run(input: &str, output: &str, config: streams_runtime::StreamsConfig) -> Option<ExitCode> {
    // Fault tests: `PANIC_ONCE_ON=word` makes a closure panic once on a line with that word;
    // `REPLACE_THREAD=1` replaces a failed stream thread instead of stopping.
    let topology =
        kafka::wordcount_topology_panicking_once(input, output, std::env::var("PANIC_ONCE_ON").ok());
    let mut streams = match KafkaStreams::connect(topology, config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Some(ExitCode::FAILURE);
        }
    };
    if std::env::var_os("REPLACE_THREAD").is_some() {
        streams.set_uncaught_exception_handler(|_| ThreadResponse::ReplaceThread);
    }
    let result = kafka::block_on_multi(streams.run(RunMode::UntilShutdown));
    if matches!(&result, Err(e) if e.to_string().contains("in use by another instance")) {
        return None;
    }
    println!("processed {}", streams.processed_records());
    Some(match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    })
}
