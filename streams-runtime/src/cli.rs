//! The standard command line every topology binary gets with one call from its `main`:
//!
//! ```text
//! --describe[=mermaid]      print the topology (Kafka's text, or a Mermaid graph)
//! --input TOPIC=FILE        replay a file into a topic (.jsonl or .txt); repeatable
//! --partitions N            partitions of the embedded cluster's topics (default 1)
//! --config FILE             Java properties (application.id, num.stream.threads, ...)
//! --set KEY=VALUE           one configuration value; repeatable
//! --pace                    write the demo data in real time while running (output shows
//!                           as it happens: `commit.interval.ms` 1000 unless set)
//! --bootstrap-servers H:P   run on Apache Kafka (the `bootstrap.servers` setting)
//! --until-drained           on Kafka: stop once every input partition is processed
//! --reset                   on Kafka: the application reset tool, then exit
//! --metrics-addr H:P        serve the metrics in Prometheus' text format at http://H:P/metrics
//! --progress[=WHEN]         records processed, written and behind on stderr (auto|always|never)
//! --query-addr H:P          answer interactive queries at http://H:P/stores/... (and announce
//!                           H:P as `application.server` unless it is set)
//! ```
//!
//! With `--input` (or without it, on the binary's demo data) the topology runs on the
//! embedded cluster until every input and internal topic is drained; every record written
//! to a sink topic is printed as one JSON line, and the exit status is 0. Logs go to stderr.
//!
//! On Kafka the input (a file or the demo data) is produced into the source topics, which
//! are created with `--partitions` partitions if missing, as are sink topics; the topology
//! runs until Ctrl-C (or, with `--until-drained`, until this instance has processed every
//! input partition to its end), printing what its sinks receive from then on.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};

#[cfg(feature = "kafka")]
use rdkafka::consumer::Consumer as _;
#[cfg(feature = "kafka")]
use rdkafka::{Message as _, Offset, TopicPartitionList};

#[cfg(feature = "kafka")]
use crate::cluster::kafka::{kafka_error, raw_record, watermarks, KafkaClients, KafkaProducer};
use crate::cluster::memory::MemoryCluster;
use crate::cluster::Cluster;
use crate::codec::Codec;
use crate::config::StreamsConfig;
use crate::dsl::Topology;
use crate::error::StreamsError;
use crate::metrics::prometheus::MetricsServer;
use crate::record::Headers;
use crate::runner::{KafkaStreams, RunMode};

#[derive(Parser, Debug)]
#[command(about = "Runs a Kafka Streams topology on the embedded cluster or on Apache Kafka")]
struct Args {
    /// Print the topology and exit: Kafka's text, or `--describe=mermaid`.
    #[arg(long, num_args = 0..=1, default_missing_value = "text", require_equals = true, value_name = "FORMAT")]
    describe: Option<String>,
    /// Replay FILE into TOPIC: `.jsonl` lines are {"key", "value", "timestamp"} (key and
    /// timestamp optional), `.txt` lines are values with a null key.
    #[arg(long = "input", value_name = "TOPIC=FILE")]
    inputs: Vec<String>,
    /// Partitions of the embedded cluster's topics (on Kafka: of the source and sink topics
    /// created when missing).
    #[arg(long, default_value_t = 1)]
    partitions: u32,
    /// A Java properties file of configuration.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// One configuration value, such as `num.stream.threads=2`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Write the demo data in real time (event time paced by the wall clock) while the
    /// topology runs, printing output as it is written.
    #[arg(long)]
    pace: bool,
    /// Run on Apache Kafka at HOST:PORT (sets `bootstrap.servers`).
    #[arg(long, value_name = "HOST:PORT")]
    bootstrap_servers: Option<String>,
    /// On Kafka: stop once this instance has processed every input partition to its end.
    #[arg(long)]
    until_drained: bool,
    /// On Kafka: delete the application's internal topics and committed offsets, then exit.
    #[arg(long)]
    reset: bool,
    /// Serve the metrics (Kafka Streams' names) in Prometheus' text format at
    /// http://HOST:PORT/metrics while the topology runs.
    #[arg(long, value_name = "HOST:PORT")]
    metrics_addr: Option<String>,
    /// A progress line on stderr (records processed, written to the sinks, behind the last
    /// commit, rate): `auto` when stderr is a terminal, `always` (one line per second), `never`.
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "always", "never"])]
    progress: String,
    /// Answers interactive queries over HTTP at http://HOST:PORT/stores/STORE/keys/KEY (and
    /// `/all`, `/range`, `/metadata`) while the topology runs; announced to the other
    /// instances as `application.server` unless that is set.
    #[arg(long, value_name = "HOST:PORT")]
    query_addr: Option<String>,
}

/// Where demo data and `--input` files are written.
#[derive(Clone)]
enum Target {
    Memory(MemoryCluster),
    #[cfg(feature = "kafka")]
    Kafka(Arc<KafkaProducer>),
}

impl Target {
    fn produce(
        &self,
        topic: &str,
        key: Option<Vec<u8>>,
        value: Option<Vec<u8>>,
        timestamp: i64,
    ) -> Result<(), StreamsError> {
        match self {
            Target::Memory(cluster) => {
                cluster.produce(topic, None, key, value, timestamp, Headers::new()).map(drop)
            }
            #[cfg(feature = "kafka")]
            Target::Kafka(producer) => {
                producer.send(topic, None, key.as_deref(), value.as_deref(), timestamp, &Headers::new())
            }
        }
    }

    /// Waits until what was written is stored.
    fn flush(&self) -> Result<(), StreamsError> {
        match self {
            Target::Memory(_) => Ok(()),
            #[cfg(feature = "kafka")]
            Target::Kafka(producer) => producer.flush(),
        }
    }
}

/// Writes an example's demo data into the embedded cluster or Kafka, typed.
pub struct Demo {
    target: Target,
    topology: Topology,
    /// With `--pace`: the wall-clock instant and event time the demo started at.
    pace: Option<(std::time::Instant, std::cell::Cell<Option<i64>>)>,
}

impl Demo {
    /// Sends one record to `topic` with codecs `KC`/`VC`.
    ///
    /// # Panics
    /// If the topic cannot be written (the embedded cluster creates topics on demand; on
    /// Kafka the CLI creates the topology's source topics first).
    pub fn send<KC: Codec, VC: Codec>(&self, topic: &str, key: KC::Value, value: VC::Value, timestamp: i64) {
        if let Some((started, first)) = &self.pace {
            // Real time: wait until as much wall-clock time has passed as event time.
            let first = first.get().unwrap_or_else(|| {
                first.set(Some(timestamp));
                timestamp
            });
            let due = std::time::Duration::from_millis(u64::try_from(timestamp - first).unwrap_or(0));
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        self.target
            .produce(
                topic,
                KC::encode(&key).unwrap_or_else(|e| panic!("demo key for `{topic}`: {e}")),
                VC::encode(&value).unwrap_or_else(|e| panic!("demo value for `{topic}`: {e}")),
                timestamp,
            )
            .unwrap_or_else(|e| panic!("demo data for `{topic}`: {e}"));
    }

    /// The topology the demo feeds.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }
}

/// `commit.interval.ms` under `--pace` unless set: caches flush and output shows every second.
const PACED_COMMIT_INTERVAL_MS: &str = "1000";

/// The most partitions `--partitions` gives a topic (Kafka advises against more than a few
/// thousand per broker; the embedded cluster holds each one in memory).
const MAX_PARTITIONS: u32 = 10_000;

/// Parses the command line and runs `topology` as `application_id`; `demo` writes the
/// example's own data when no `--input` is given.
pub fn run(application_id: &str, topology: Topology, demo: impl FnOnce(&Demo) + Send) -> ExitCode {
    run_with_args(application_id, topology, demo, std::env::args_os())
}

/// As [`run`], with explicit arguments (the first is the program name).
pub fn run_with_args<I, T>(
    application_id: &str,
    topology: Topology,
    demo: impl FnOnce(&Demo) + Send,
    args: I,
) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    run_with_args_to(application_id, topology, demo, args, &mut std::io::stdout().lock())
}

/// As [`run_with_args`], printing to `out` instead of stdout (for tests).
pub fn run_with_args_to<I, T>(
    application_id: &str,
    topology: Topology,
    demo: impl FnOnce(&Demo) + Send,
    args: I,
    out: &mut dyn Write,
) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args = match parse_args(application_id, &topology, args) {
        Ok(a) => a,
        Err(e) if e.use_stderr() => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        // `--help`, `--version`: on `out`.
        Err(e) => {
            let _ = write!(out, "{}", e.render());
            return ExitCode::SUCCESS;
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .try_init();
    match execute(application_id, topology, demo, args, out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Parses the command line; `--help` also names the application and the topics the
/// topology reads and writes. `--describe mermaid` (with a space) is `--describe=mermaid`.
fn parse_args<I, T>(application_id: &str, topology: &Topology, args: I) -> Result<Args, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let mut argv: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    if let Some(i) = argv.iter().position(|a| a == "--describe") {
        if let Some(format) = argv.get(i + 1).filter(|f| *f == "text" || *f == "mermaid").cloned() {
            argv[i] = format!("--describe={}", format.to_string_lossy()).into();
            argv.remove(i + 1);
        }
    }
    let reads: Vec<String> = topology
        .source_topics()
        .into_iter()
        .filter(|t| !topology.graph.internal_topics.contains(t))
        .collect();
    let list = |topics: &[String]| if topics.is_empty() { "(none)".to_string() } else { topics.join(", ") };
    let about = format!(
        "application.id: {application_id}\nreads: {}\nwrites: {}",
        list(&reads),
        list(&topology.graph.sink_topics())
    );
    let matches = Args::command().after_help(about).try_get_matches_from(argv)?;
    Args::from_arg_matches(&matches)
}

fn split_pair<'a>(arg: &'a str, what: &str) -> Result<(&'a str, &'a str), StreamsError> {
    arg.split_once('=')
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .ok_or_else(|| StreamsError::Usage(format!("`{arg}`: expected {what}")))
}

fn execute(
    application_id: &str,
    topology: Topology,
    demo: impl FnOnce(&Demo) + Send,
    args: Args,
    out: &mut dyn Write,
) -> Result<(), StreamsError> {
    if let Some(format) = &args.describe {
        let text = match format.as_str() {
            "text" => topology.describe().to_string(),
            "mermaid" => topology.describe().to_mermaid(),
            other => {
                return Err(StreamsError::Usage(format!(
                    "`--describe={other}`: expected `--describe` or `--describe=mermaid`"
                )))
            }
        };
        let _ = write!(out, "{text}");
        return Ok(());
    }
    let mut config = StreamsConfig::new(application_id);
    if let Some(path) = &args.config {
        config.load_properties(path)?;
    }
    for set in &args.sets {
        let (k, v) = split_pair(set, "KEY=VALUE")?;
        config.set(k, v);
    }
    if let Some(servers) = &args.bootstrap_servers {
        config.set("bootstrap.servers", servers);
    }
    if let Some(addr) = &args.query_addr {
        if config.get("application.server").is_none() {
            config.set("application.server", addr);
        }
    }
    if args.pace && config.get("commit.interval.ms").is_none() {
        // Output as it happens: record caches flush at each commit, every 30 s by default.
        config.set("commit.interval.ms", PACED_COMMIT_INTERVAL_MS);
    }
    if args.partitions == 0 || args.partitions > MAX_PARTITIONS {
        return Err(StreamsError::Usage(format!(
            "`--partitions` = {}: it must be between 1 and {MAX_PARTITIONS}",
            args.partitions
        )));
    }
    if config.bootstrap_servers().is_some() {
        #[cfg(feature = "kafka")]
        return execute_on_kafka(topology, demo, &args, config, out);
        #[cfg(not(feature = "kafka"))]
        return Err(StreamsError::Usage(
            "`--bootstrap-servers` needs the Kafka backend: build with the `kafka` feature".into(),
        ));
    }
    if args.reset || args.until_drained {
        return Err(StreamsError::Usage(
            "`--reset` and `--until-drained` need a Kafka cluster: add `--bootstrap-servers HOST:PORT`"
                .into(),
        ));
    }
    let cluster = MemoryCluster::with_auto_create(Some(args.partitions));
    for topic in topology.source_topics().into_iter().filter(|t| !topology.graph.internal_topics.contains(t))
    {
        cluster.create_topic(&topic, args.partitions)?;
    }
    for input in &args.inputs {
        let (topic, file) = split_pair(input, "TOPIC=FILE")?;
        replay(&Target::Memory(cluster.clone()), &topology, topic, Path::new(file))?;
    }
    let group = config.application_id()?.to_string();
    let streams = KafkaStreams::new(topology.clone(), config, Arc::new(cluster.clone()));
    let _metrics = serve_metrics(&streams, &args)?;
    let _queries = serve_queries(&streams, &args)?;
    let runtime = tokio_runtime()?;
    let sinks = topology.graph.sink_topics();
    // The last sink record printed, in the cluster's order of appends.
    let mut printed = None;
    if args.inputs.is_empty() && args.pace {
        // The demo writes in real time on its own thread while the topology runs on
        // another; this thread prints output as it appears.
        let guard = streams.open_input();
        let printer = PacedPrinter { cluster: &cluster, topology: &topology, sinks: &sinks };
        std::thread::scope(|scope| -> Result<(), StreamsError> {
            let running = scope.spawn(|| runtime.block_on(streams.run(RunMode::UntilDrained)));
            let (demo_cluster, demo_topology) = (cluster.clone(), topology.clone());
            let writing = scope.spawn(move || {
                let pace = Some((std::time::Instant::now(), std::cell::Cell::new(None)));
                demo(&Demo { target: Target::Memory(demo_cluster), topology: demo_topology, pace });
                drop(guard);
            });
            while !running.is_finished() {
                std::thread::sleep(std::time::Duration::from_millis(200));
                printer.print_new(&mut printed, out);
            }
            let _ = writing.join();
            running
                .join()
                .unwrap_or_else(|_| Err(StreamsError::InvalidTopology("the runner panicked".into())))
        })?;
    } else {
        if args.inputs.is_empty() {
            demo(&Demo { target: Target::Memory(cluster.clone()), topology: topology.clone(), pace: None });
        }
        let sources = topology.source_topics();
        let sample = || {
            let sum = |topics: &[String], f: &dyn Fn(&str, u32) -> u64| -> u64 {
                topics
                    .iter()
                    .map(|t| (0..cluster.partitions(t).unwrap_or(0)).map(|p| f(t, p)).sum::<u64>())
                    .sum()
            };
            let written = sum(&sinks, &|t, p| cluster.end_offset(t, p));
            let behind = sum(&sources, &|t, p| {
                cluster.end_offset(t, p).saturating_sub(cluster.committed(&group, t, p).unwrap_or(0))
            });
            (streams.processed_records(), written, Some(behind))
        };
        with_progress(progress_mode(&args.progress), sample, || {
            runtime.block_on(streams.run(RunMode::UntilDrained))
        })?;
    }
    PacedPrinter { cluster: &cluster, topology: &topology, sinks: &sinks }.print_new(&mut printed, out);
    if streams.skipped_records() > 0 {
        tracing::warn!(skipped = streams.skipped_records(), "records skipped by the decode-error policy");
    }
    Ok(())
}

/// With `--metrics-addr`: the metrics endpoint, for as long as the run.
fn serve_metrics(streams: &KafkaStreams, args: &Args) -> Result<Option<MetricsServer>, StreamsError> {
    let Some(addr) = &args.metrics_addr else { return Ok(None) };
    let server = streams
        .serve_metrics(addr)
        .map_err(|e| StreamsError::Usage(format!("`--metrics-addr {addr}`: cannot listen there: {e}")))?;
    tracing::info!("metrics at http://{}/metrics", server.local_addr());
    Ok(Some(server))
}

/// With `--query-addr`: the interactive query endpoint, for as long as the run.
#[cfg(feature = "http")]
fn serve_queries(
    streams: &KafkaStreams,
    args: &Args,
) -> Result<Option<crate::runner::http::QueryServer>, StreamsError> {
    let Some(addr) = &args.query_addr else { return Ok(None) };
    let server = streams
        .serve_queries(addr)
        .map_err(|e| StreamsError::Usage(format!("`--query-addr {addr}`: cannot listen there: {e}")))?;
    tracing::info!("interactive queries at http://{}/stores/", server.local_addr());
    Ok(Some(server))
}

#[cfg(not(feature = "http"))]
fn serve_queries(_: &KafkaStreams, args: &Args) -> Result<Option<()>, StreamsError> {
    match &args.query_addr {
        Some(_) => Err(StreamsError::Usage(
            "`--query-addr` needs the HTTP endpoint: build with the `http` feature".into(),
        )),
        None => Ok(None),
    }
}

fn tokio_runtime() -> Result<tokio::runtime::Runtime, StreamsError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| StreamsError::Config(format!("cannot start the runtime: {e}")))
}

/// The CLI on Kafka: creates missing source and sink topics, writes the input, runs, and
/// prints what the sinks receive from the start of the run on.
#[cfg(feature = "kafka")]
fn execute_on_kafka(
    topology: Topology,
    demo: impl FnOnce(&Demo) + Send,
    args: &Args,
    config: StreamsConfig,
    out: &mut dyn Write,
) -> Result<(), StreamsError> {
    let clients = KafkaClients::new(&config)?;
    let application_id = config.application_id()?.to_string();
    let streams = KafkaStreams::connect(topology.clone(), config)?;
    let runtime = tokio_runtime()?;
    let _metrics = if args.reset { None } else { serve_metrics(&streams, args)? };
    let _queries = if args.reset { None } else { serve_queries(&streams, args)? };
    if args.reset {
        runtime.block_on(streams.reset())?;
        eprintln!("reset `{application_id}`: internal topics and committed offsets deleted");
        return Ok(());
    }
    let existing = clients.topics()?;
    let sinks = topology.graph.sink_topics();
    let user_topics = topology
        .source_topics()
        .into_iter()
        .filter(|t| !topology.graph.internal_topics.contains(t))
        .chain(topology.graph.globals.iter().map(|g| g.topic.clone()))
        .chain(sinks.iter().cloned());
    let missing: Vec<(String, u32, _)> = user_topics
        .filter(|t| !existing.contains_key(t))
        .map(|t| (t, args.partitions, KafkaClients::kept_configs()))
        .collect();
    runtime.block_on(clients.create_topics(&missing, -1))?;
    // Output from now on: each sink partition read from its current end.
    let output = clients.plain_consumer(&format!("{application_id}-cli-output"))?;
    let mut tpl = TopicPartitionList::new();
    for (topic, partitions) in clients.topics()?.into_iter().filter(|(t, _)| sinks.contains(t)) {
        for p in 0..partitions as i32 {
            let (_, high) = watermarks(&output, &topic, p as u32)?;
            tpl.add_partition_offset(&topic, p, Offset::Offset(high as i64))
                .map_err(|e| kafka_error("assign", e))?;
        }
    }
    output.assign(&tpl).map_err(|e| kafka_error("cannot read the sink topics", e))?;
    let target = Target::Kafka(Arc::new(clients.producer(&format!("{application_id}-cli-input"))?));
    for input in &args.inputs {
        let (topic, file) = split_pair(input, "TOPIC=FILE")?;
        replay(&target, &topology, topic, Path::new(file))?;
    }
    let mode = if args.until_drained { RunMode::UntilDrained } else { RunMode::UntilShutdown };
    let printed = std::sync::atomic::AtomicU64::new(0);
    let print_available = |wait: std::time::Duration, out: &mut dyn Write| -> usize {
        let mut now = 0;
        while let Some(Ok(m)) = output.poll(if now == 0 { wait } else { std::time::Duration::ZERO }) {
            let topic: Arc<str> = Arc::from(m.topic());
            print_record(&topology, &raw_record(&m, topic), out);
            now += 1;
        }
        printed.fetch_add(now as u64, std::sync::atomic::Ordering::Relaxed);
        now
    };
    // The demo data goes into empty source topics only: a run after `--reset` reprocesses
    // exactly the demo, and a second run does not write it twice.
    let sources: Vec<String> = topology
        .source_topics()
        .into_iter()
        .filter(|t| !topology.graph.internal_topics.contains(t))
        .collect();
    let written = sources.iter().any(|t| {
        let partitions = clients.topics().ok().and_then(|all| all.get(t).copied()).unwrap_or(0);
        (0..partitions).any(|p| watermarks(&output, t, p).is_ok_and(|(_, high)| high > 0))
    });
    if written && args.inputs.is_empty() {
        tracing::warn!(
            topics = sources.join(", "),
            "the source topics hold records already: the demo data is not written again (the run goes on from the committed offsets; `--reset` reprocesses everything)"
        );
    }
    let mut demo = (args.inputs.is_empty() && !written).then_some(demo);
    if !args.pace {
        if let Some(demo) = demo.take() {
            demo(&Demo { target: target.clone(), topology: topology.clone(), pace: None });
            target.flush()?;
        }
    }
    std::thread::scope(|scope| -> Result<(), StreamsError> {
        // With `--pace`, the demo writes in real time while the topology runs.
        let writing = demo.map(|demo| {
            let guard = streams.open_input();
            let topology = topology.clone();
            let pace = Some((std::time::Instant::now(), std::cell::Cell::new(None)));
            let target = target.clone();
            scope.spawn(move || {
                let demo_data = Demo { target, topology, pace };
                demo(&demo_data);
                let flushed = demo_data.target.flush();
                drop(guard);
                flushed
            })
        });
        let running = scope.spawn(|| runtime.block_on(streams.run(mode)));
        let sample =
            || (streams.processed_records(), printed.load(std::sync::atomic::Ordering::Relaxed), None);
        with_progress(progress_mode(&args.progress), sample, || {
            while !running.is_finished() {
                print_available(std::time::Duration::from_millis(200), out);
            }
        });
        if let Some(w) = writing {
            w.join().unwrap_or_else(|_| Err(StreamsError::Usage("the demo data writer panicked".into())))?;
        }
        running
            .join()
            .unwrap_or_else(|_| Err(StreamsError::InvalidTopology("the runner panicked".into())))?;
        // What the last commit wrote.
        while print_available(std::time::Duration::from_secs(1), out) > 0 {}
        Ok(())
    })?;
    if streams.skipped_records() > 0 {
        tracing::warn!(skipped = streams.skipped_records(), "records skipped by the decode-error policy");
    }
    Ok(())
}

/// How `--progress` reports: not at all, rewriting one line on a terminal, or a line each time.
#[derive(Clone, Copy, PartialEq, Debug)]
enum ProgressMode {
    Never,
    InPlace,
    Lines,
}

fn progress_mode(flag: &str) -> ProgressMode {
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    match flag {
        "never" => ProgressMode::Never,
        "always" if !terminal => ProgressMode::Lines,
        "auto" if !terminal => ProgressMode::Never,
        _ => ProgressMode::InPlace,
    }
}

/// Runs `work` while a thread reports `sample()` (records processed, written to the sinks,
/// behind the last commit when known) on stderr: every 200 ms in place on a terminal, every
/// second as lines otherwise.
fn with_progress<R>(
    mode: ProgressMode,
    sample: impl Fn() -> (u64, u64, Option<u64>) + Sync,
    work: impl FnOnce() -> R,
) -> R {
    if mode == ProgressMode::Never {
        return work();
    }
    let done = std::sync::Mutex::new(false);
    let wake = std::sync::Condvar::new();
    let every =
        if mode == ProgressMode::InPlace { Duration::from_millis(200) } else { Duration::from_secs(1) };
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let start = Instant::now();
            let mut last = (start, 0);
            let mut finished = false;
            while !finished {
                let guard = wake.wait_timeout(done.lock().unwrap_or_else(|p| p.into_inner()), every);
                finished = guard.map_or(true, |(g, _)| *g);
                let (processed, written, behind) = sample();
                let now = Instant::now();
                let secs = now.duration_since(last.0).as_secs_f64().max(1e-3);
                let rate = (processed.saturating_sub(last.1)) as f64 / secs;
                last = (now, processed);
                let line = progress_line(start.elapsed(), processed, written, behind, rate);
                let mut err = std::io::stderr().lock();
                let _ = match mode {
                    ProgressMode::InPlace if finished => writeln!(err, "\r\x1b[K{line}"),
                    ProgressMode::InPlace => write!(err, "\r\x1b[K{line}"),
                    _ => writeln!(err, "{line}"),
                };
                let _ = err.flush();
            }
        });
        let result = work();
        *done.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        result
    })
}

fn progress_line(elapsed: Duration, processed: u64, written: u64, behind: Option<u64>, rate: f64) -> String {
    let behind = behind.map(|b| format!(", {b} behind the last commit")).unwrap_or_default();
    format!(
        "progress {:.1} s: {processed} records processed, {written} written to the sinks{behind}, {rate:.0} records/s",
        elapsed.as_secs_f64()
    )
}

/// Prints sink records written since the last call.
struct PacedPrinter<'a> {
    cluster: &'a MemoryCluster,
    topology: &'a Topology,
    sinks: &'a [String],
}

impl PacedPrinter<'_> {
    fn print_new(&self, printed: &mut Option<u64>, out: &mut dyn Write) {
        // A chunk at a time: the output of a long run may be millions of records.
        loop {
            let chunk = self.cluster.records_of_topics_after(self.sinks, *printed, 10_000);
            let Some((last, _)) = chunk.last() else { return };
            *printed = Some(*last);
            for (_, record) in &chunk {
                print_record(self.topology, record, out);
            }
        }
    }
}

fn print_record(topology: &Topology, record: &crate::record::RawRecord, out: &mut dyn Write) {
    let format = topology.graph.format(&record.topic).expect("every sink topic has a format");
    // Written field by field to keep the documented order: topic, key, value, timestamp.
    let _ = writeln!(
        out,
        "{{\"topic\":{},\"key\":{},\"value\":{},\"timestamp\":{}}}",
        json!(&*record.topic),
        format.key_json(record.key.as_deref()),
        (format.value_to_json)(record.value.as_deref()),
        record.timestamp
    );
}

/// Writes a `.jsonl` or `.txt` file into `topic`, encoded with the codecs of the topology's
/// source for that topic. Every refusal names the file and line and says what the line should
/// look like.
fn replay(target: &Target, topology: &Topology, topic: &str, file: &Path) -> Result<(), StreamsError> {
    let format = topology.graph.format(topic).ok_or_else(|| {
        StreamsError::Usage(format!("`--input {topic}=...`: the topology reads no topic `{topic}`"))
    })?;
    let reader = std::fs::File::open(file)
        .map_err(|e| StreamsError::Usage(format!("cannot read `{}`: {e}", file.display())))?;
    let jsonl = file.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("json") || e.eq_ignore_ascii_case("ndjson")
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut reader = std::io::BufReader::new(reader);
    // One buffer for every line: a long line costs its own length once, not once per copy.
    let mut bytes = Vec::new();
    for n in 1.. {
        bytes.clear();
        let read = reader
            .read_until(b'\n', &mut bytes)
            .map_err(|e| StreamsError::Usage(format!("`{}`: {e}", file.display())))?;
        if read == 0 {
            break;
        }
        let at = || format!("{}:{n}", file.display());
        let line = line_text(&bytes, n == 1).map_err(|e| StreamsError::Usage(format!("{}: {e}", at())))?;
        let Some(fields) =
            parse_line(jsonl, line, now).map_err(|e| StreamsError::Usage(format!("{}: {e}", at())))?
        else {
            continue;
        };
        let key = encode_field(format.key_from_json, "key", &fields.key, fields.has_key, jsonl)
            .map_err(|e| StreamsError::Usage(format!("{}: {e}", at())))?;
        let value = encode_field(format.value_from_json, "value", &fields.value, fields.has_value, jsonl)
            .map_err(|e| StreamsError::Usage(format!("{}: {e}", at())))?;
        target.produce(topic, key, value, fields.timestamp)?;
    }
    target.flush()
}

/// A line's text without its line ending (and, on the first line, without a byte-order mark).
fn line_text(bytes: &[u8], first: bool) -> Result<&str, String> {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let bytes = if first { bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes) } else { bytes };
    std::str::from_utf8(bytes).map_err(|e| {
        format!("not UTF-8 text (an invalid byte at column {}); input files are UTF-8", e.valid_up_to() + 1)
    })
}

/// One input line's record, before encoding.
#[derive(Debug, PartialEq)]
struct LineFields {
    key: Value,
    has_key: bool,
    value: Value,
    has_value: bool,
    timestamp: i64,
}

const JSONL_LINE: &str = r#"{"key": "k", "value": ..., "timestamp": 1700000000000}"#;

/// Parses one line: a `.txt` line is a value with a null key; a `.jsonl` line is one JSON
/// object with `key`, `value` and `timestamp` (each optional). `None` for a blank `.jsonl` line.
fn parse_line(jsonl: bool, line: &str, now: i64) -> Result<Option<LineFields>, String> {
    if !jsonl {
        let value = Value::String(line.to_string());
        return Ok(Some(LineFields {
            key: Value::Null,
            has_key: false,
            value,
            has_value: true,
            timestamp: now,
        }));
    }
    if line.trim().is_empty() {
        return Ok(None);
    }
    let v: Value = serde_json::from_str(line)
        .map_err(|e| format!("not JSON ({e}); write one object per line: {JSONL_LINE}"))?;
    let Value::Object(mut fields) = v else {
        let what = match v {
            Value::Array(_) => "an array",
            Value::String(_) => "a string",
            Value::Number(_) => "a number",
            Value::Bool(_) => "a boolean",
            _ => "null",
        };
        return Err(format!("the line is {what}; a `.jsonl` line is one object: {JSONL_LINE}"));
    };
    if let Some(other) = fields.keys().find(|k| !matches!(k.as_str(), "key" | "value" | "timestamp")) {
        return Err(format!(
            "unknown field `{other}`; a line's fields are `key`, `value` and `timestamp`: {JSONL_LINE}"
        ));
    }
    let timestamp = match fields.get("timestamp") {
        None | Some(Value::Null) => now,
        Some(t) => t
            .as_i64()
            .ok_or_else(|| format!("`timestamp` must be an integer (ms since the epoch), not {t}"))?,
    };
    let (has_key, has_value) = (fields.contains_key("key"), fields.contains_key("value"));
    let key = fields.remove("key").unwrap_or(Value::Null);
    let value = fields.remove("value").unwrap_or(Value::Null);
    Ok(Some(LineFields { key, has_key, value, has_value, timestamp }))
}

/// Encodes a line's key or value; a field the codec needs but the line lacks says so.
fn encode_field(
    encode: fn(&Value) -> Result<Option<Vec<u8>>, crate::error::CodecError>,
    name: &str,
    json: &Value,
    present: bool,
    jsonl: bool,
) -> Result<Option<Vec<u8>>, String> {
    encode(json).map_err(|e| {
        if present {
            format!("{name}: {e}")
        } else if !jsonl {
            format!(
                "a `.txt` line is a value with no key, and this topic's keys cannot be null ({e}); \
                 write a `.jsonl` file of lines such as {JSONL_LINE}"
            )
        } else {
            format!("no `{name}`, and this topic's {name}s cannot be null ({e}); add `\"{name}\": ...` to the line")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jsonl_line_is_one_object_and_other_shapes_say_what_to_write() {
        let f = parse_line(true, r#"{"key":"a","value":{"n":1},"timestamp":5}"#, 9).unwrap().unwrap();
        assert_eq!((f.key, f.value, f.timestamp), (Value::from("a"), serde_json::json!({"n": 1}), 5));
        let f = parse_line(true, r#"{"value":"v"}"#, 9).unwrap().unwrap();
        assert!(!f.has_key && f.has_value && f.timestamp == 9);
        assert_eq!(parse_line(true, "   ", 9), Ok(None));
        let array = parse_line(true, r#"[{"key":"a","value":"x"}]"#, 0).unwrap_err();
        assert!(
            array.starts_with("the line is an array; a `.jsonl` line is one object: {\"key\""),
            "{array}"
        );
        let typo = parse_line(true, r#"{"kye":"a"}"#, 0).unwrap_err();
        assert!(typo.starts_with("unknown field `kye`"), "{typo}");
        let ts = parse_line(true, r#"{"timestamp":"yesterday"}"#, 0).unwrap_err();
        assert!(ts.contains("must be an integer"), "{ts}");
        assert!(parse_line(true, "{", 0).unwrap_err().starts_with("not JSON ("));
        let txt = parse_line(false, "{\"key\": 1}", 3).unwrap().unwrap();
        assert_eq!((txt.key, txt.value, txt.timestamp), (Value::Null, Value::from("{\"key\": 1}"), 3));
    }

    #[test]
    fn lines_lose_their_endings_and_a_leading_byte_order_mark_and_must_be_utf8() {
        assert_eq!(line_text("\u{feff}hello\r\n".as_bytes(), true), Ok("hello"));
        assert_eq!(line_text("\u{feff}hello".as_bytes(), false), Ok("\u{feff}hello"));
        assert_eq!(
            line_text(b"ab\xffc\n", false),
            Err("not UTF-8 text (an invalid byte at column 3); input files are UTF-8".into())
        );
    }

    #[test]
    fn a_missing_key_the_codec_needs_says_how_to_give_one() {
        use crate::codec::json_to_bytes;
        let e = encode_field(json_to_bytes::<String>, "key", &Value::Null, false, true).unwrap_err();
        assert!(e.starts_with("no `key`, and this topic's keys cannot be null"), "{e}");
        assert!(e.ends_with("add `\"key\": ...` to the line"), "{e}");
        let e = encode_field(json_to_bytes::<String>, "key", &Value::Null, false, false).unwrap_err();
        assert!(e.starts_with("a `.txt` line is a value with no key"), "{e}");
        assert_eq!(
            encode_field(json_to_bytes::<String>, "key", &Value::from("k"), true, true),
            Ok(Some(b"k".to_vec()))
        );
    }
}
