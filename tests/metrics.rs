//! Kafka Streams' metrics, read through `KafkaStreams::metrics` and scraped from the
//! Prometheus endpoint while word count runs on the embedded cluster.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use examples::wordcount;
use streams_runtime::cluster::memory::MemoryCluster;
use streams_runtime::cluster::Cluster;
use streams_runtime::{KafkaStreams, MetricValue, RunMode, State, StreamsConfig};

fn scrape(addr: std::net::SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.contains("Content-Type: text/plain; version=0.0.4"), "{head}");
    body.to_string()
}

/// Samples of the exposition text, `name{labels}` → value, checking every line's grammar
/// (a `# HELP`/`# TYPE` line, or `name{label="value",...} number`) and that each family's
/// `# TYPE` comes before its samples.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut typed = std::collections::BTreeSet::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(matches!(kind, "gauge" | "counter"), "{line}");
            typed.insert(name.to_string());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.is_empty(),
            "bad name: {line}"
        );
        assert!(typed.contains(name), "a sample before its # TYPE: {line}");
        let labels = series[name.len()..].trim_start_matches('{').trim_end_matches('}');
        for label in labels.split("\",").filter(|l| !l.is_empty()) {
            let (key, value) = label.split_once("=\"").unwrap_or_else(|| panic!("bad label: {line}"));
            assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "bad label name: {line}");
            assert!(!value.trim_end_matches('"').contains('\n'), "{line}");
        }
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value: {line}"));
        samples.insert(series.to_string(), value);
    }
    samples
}

/// The sum of a family's samples over its threads.
fn sum(samples: &BTreeMap<String, f64>, family: &str) -> f64 {
    samples.iter().filter(|(k, _)| k.starts_with(&format!("{family}{{"))).map(|(_, v)| v).sum()
}

#[test]
fn metrics_count_what_the_threads_do_and_the_endpoint_serves_them() {
    let cluster = streams_tests::sample_cluster(4);
    let mut config = StreamsConfig::new("wc-metrics");
    config.set("num.stream.threads", "2").set("commit.interval.ms", "50");
    let streams = Arc::new(KafkaStreams::new(wordcount::topology(), config, Arc::new(cluster.clone())));
    let server = streams.serve_metrics("127.0.0.1:0").unwrap();
    let running = streams_tests::run_in_background(&streams, RunMode::UntilShutdown);
    // Every line processed, then every word from the repartition topic.
    let words: i64 = streams_tests::golden_counts(wordcount::SAMPLE).values().sum();
    let expected = wordcount::SAMPLE.len() as u64 + words as u64;
    let started = Instant::now();
    while streams.processed_records() < expected || streams.state() != State::Running {
        assert!(started.elapsed() < Duration::from_secs(60), "processed {}", streams.processed_records());
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200)); // a commit or more after the last record

    let text = scrape(server.local_addr());
    if let Some(checked) = streams_tests::promtool_check(&text) {
        assert!(
            checked.status.success(),
            "promtool check metrics: {}",
            String::from_utf8_lossy(&checked.stderr)
        );
    }
    let samples = parse(&text);
    assert_eq!(
        samples[r#"kafka_streams_stream_metrics_state_info{client_id="wc-metrics",value="RUNNING"}"#],
        1.0
    );
    assert_eq!(samples[r#"kafka_streams_stream_metrics_alive_stream_threads{client_id="wc-metrics"}"#], 2.0);
    // Both threads, named as Kafka names them.
    for n in 1..=2 {
        let series = format!(
            r#"kafka_streams_stream_thread_metrics_poll_total{{thread_id="wc-metrics-StreamThread-{n}"}}"#
        );
        assert!(samples[&series] > 0.0, "{series}");
    }
    assert_eq!(sum(&samples, "kafka_streams_stream_thread_metrics_process_total"), expected as f64);
    assert!(sum(&samples, "kafka_streams_stream_thread_metrics_process_rate") > 0.0);
    assert!(sum(&samples, "kafka_streams_stream_thread_metrics_commit_total") >= 2.0);
    // Two sub-topologies on four partitions: eight tasks, none closed.
    assert_eq!(sum(&samples, "kafka_streams_stream_thread_metrics_task_created_total"), 8.0);
    assert_eq!(sum(&samples, "kafka_streams_stream_thread_metrics_task_closed_total"), 0.0);
    // Task level: the eight tasks, each tagged with its thread and its id; nothing dropped.
    let series = |family: &str| -> Vec<(String, f64)> {
        samples
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{family}{{")))
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    };
    let dropped = series("kafka_streams_stream_task_metrics_dropped_records_total");
    assert_eq!(dropped.len(), 8, "{dropped:?}");
    assert!(dropped.iter().all(|(k, v)| k.contains("task_id=\"") && k.contains("thread_id=\"") && *v == 0.0));
    assert!(series("kafka_streams_stream_task_metrics_active_process_ratio").iter().any(|(_, v)| *v > 0.0));
    // Each thread's consumer lag, sampled as it went (everything fetched now: the last
    // samples are 0, earlier ones may not be).
    let lag = series("kafka_streams_consumer_fetch_manager_metrics_records_lag_max");
    assert_eq!(lag.len(), 2, "{lag:?}");
    assert!(
        lag.iter().all(|(k, v)| k.contains(r#"client_id="wc-metrics-StreamThread-"#) && *v >= 0.0),
        "{lag:?}"
    );
    // The count's store in each task of sub-topology 1, as Kafka's in-memory key-value store
    // (listed at INFO, not recorded).
    let puts = series("kafka_streams_stream_state_metrics_put_rate");
    assert_eq!(puts.len(), 4, "{puts:?}");
    assert!(puts.iter().all(|(k, v)| {
        k.contains(r#"in_memory_state_id="KSTREAM-AGGREGATE-STATE-STORE-0000000004""#) && *v == 0.0
    }));
    // End-to-end latency where records enter (the sources of both sub-topologies) and where
    // they leave (the repartition sink and the output sink): wall clock minus record time.
    let e2e = series("kafka_streams_stream_processor_node_metrics_record_e2e_latency_max");
    for node in [
        "KSTREAM-SOURCE-0000000000",
        "KSTREAM-SINK-0000000006",
        "KSTREAM-SOURCE-0000000008",
        "KSTREAM-SINK-0000000010",
    ] {
        let at: Vec<f64> = e2e
            .iter()
            .filter(|(k, _)| k.contains(&format!("processor_node_id=\"{node}\"")))
            .map(|(_, v)| *v)
            .collect();
        assert_eq!(at.len(), 4, "{node} in every task of its sub-topology: {e2e:?}");
        assert!(at.iter().any(|v| *v > 0.0), "{node}: {at:?}");
    }

    // The same through the API, with Kafka's groups and tags.
    let metrics = streams.metrics();
    let process_total: f64 = metrics
        .iter()
        .filter(|m| m.name.group == "stream-thread-metrics" && m.name.name == "process-total")
        .map(|m| m.value.number().unwrap())
        .sum();
    assert_eq!(process_total, expected as f64);
    let max_latency = metrics
        .iter()
        .filter(|m| m.name.name == "process-latency-max")
        .filter_map(|m| m.value.number())
        .fold(f64::NAN, f64::max);
    assert!(max_latency >= 0.0, "{max_latency}");

    streams.shutdown();
    running.join().unwrap().unwrap();
    let state = |metrics: &[streams_runtime::Metric], name: &str| {
        metrics.iter().find(|m| m.name.name == name).map(|m| m.value.clone()).unwrap()
    };
    let after = streams.metrics();
    assert_eq!(state(&after, "state"), MetricValue::Text("NOT_RUNNING".into()));
    assert_eq!(state(&after, "alive-stream-threads"), MetricValue::Number(0.0));
}

/// `promtool check metrics` on `text`, where Debian's `prometheus` package is installed
/// (`.ci/run` installs it); elsewhere the grammar check of [`parse`] alone.
#[test]
fn a_metrics_address_that_cannot_be_listened_on_is_refused_with_a_message() {
    let mut out = Vec::new();
    let code = streams_runtime::cli::run_with_args_to(
        "wordcount",
        wordcount::topology(),
        |_| {},
        ["wordcount", "--metrics-addr", "not-an-address"],
        &mut out,
    );
    assert_eq!(code, std::process::ExitCode::FAILURE);
}

/// One metric's value by group, name and tags (a tag list that must all match).
fn value_of(metrics: &[streams_runtime::Metric], group: &str, name: &str, tags: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = metrics
        .iter()
        .filter(|m| m.name.group == group && m.name.name == name)
        .filter(|m| tags.iter().all(|(k, v)| m.name.tags.iter().any(|(tk, tv)| tk == k && tv == v)))
        .filter_map(|m| m.value.number())
        .collect();
    assert_eq!(found.len(), 1, "{group} {name} {tags:?}: {found:?}");
    found[0]
}

/// A windowed count as the driver runs it: late records dropped, every update emitted.
fn windowed_counts() -> streams_runtime::Topology {
    use streams_runtime::prelude::*;
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("events")
        .group_by_key()
        .window(TimeWindows::of(Duration::from_secs(5)).grace(Duration::ZERO))
        .count()
        .to_stream()
        .to("counts");
    b.build()
}

#[test]
fn the_driver_reports_task_and_node_metrics_as_kafkas_topology_test_driver() {
    use streams_runtime::metrics::{NODE_GROUP, STORE_GROUP, TASK_GROUP};
    use streams_runtime::{RecordingLevel, TestDriver};
    let driver = TestDriver::new(windowed_counts());
    let input = driver.input::<String, i64>("events");
    driver.advance_wall_clock(Duration::from_secs(10));
    input.pipe("a".into(), 1, 1_000);
    input.pipe("a".into(), 1, 7_000); // stream time 7000: window [0, 5000) closes
    input.pipe("a".into(), 1, 2_000); // late: dropped
    let metrics = driver.metrics();
    let thread = std::thread::current().name().unwrap().to_string();
    let task = [("thread-id", thread.as_str()), ("task-id", "0_0")];
    assert_eq!(value_of(&metrics, TASK_GROUP, "dropped-records-total", &task), 1.0);
    assert!(value_of(&metrics, TASK_GROUP, "dropped-records-rate", &task) > 0.0);
    // End-to-end latency: the driver's wall clock (10 s) minus the record's time, where the
    // records enter (the source) and where they leave (the sink); the late record never
    // reaches the sink.
    let node = |name: &'static str| [("task-id", "0_0"), ("processor-node-id", name)];
    let e2e = |stat: &str, at: &'static str| {
        value_of(&metrics, NODE_GROUP, &format!("record-e2e-latency-{stat}"), &node(at))
    };
    assert_eq!(
        (e2e("min", "KSTREAM-SOURCE-0000000000"), e2e("max", "KSTREAM-SOURCE-0000000000")),
        (3_000.0, 9_000.0)
    );
    assert_eq!(e2e("avg", "KSTREAM-SOURCE-0000000000"), (9_000.0 + 3_000.0 + 8_000.0) / 3.0);
    assert_eq!(
        (e2e("min", "KSTREAM-SINK-0000000004"), e2e("max", "KSTREAM-SINK-0000000004")),
        (3_000.0, 9_000.0)
    );
    // DEBUG sensors are listed but do not record at INFO.
    assert_eq!(value_of(&metrics, TASK_GROUP, "process-total", &task), 0.0);
    assert!(value_of(&metrics, TASK_GROUP, "record-lateness-max", &task).is_nan());
    // The window store's metrics, as Kafka's in-memory window store: listed, not recorded.
    let store =
        [("task-id", "0_0"), ("in-memory-window-state-id", "KSTREAM-AGGREGATE-STATE-STORE-0000000001")];
    assert_eq!(value_of(&metrics, STORE_GROUP, "put-rate", &store), 0.0);
    assert!(value_of(&metrics, STORE_GROUP, "fetch-latency-avg", &store).is_nan());

    let debug = TestDriver::new(windowed_counts()).with_recording_level(RecordingLevel::Debug);
    let input = debug.input::<String, i64>("events");
    for t in [1_000, 7_000, 2_000, 6_500] {
        input.pipe("a".into(), 1, t);
    }
    let metrics = debug.metrics();
    assert_eq!(value_of(&metrics, TASK_GROUP, "process-total", &task), 4.0);
    assert_eq!(value_of(&metrics, NODE_GROUP, "process-total", &node("KSTREAM-SOURCE-0000000000")), 4.0);
    // Lateness against stream time: 0, 0, 5000, 500.
    assert_eq!(value_of(&metrics, TASK_GROUP, "record-lateness-max", &task), 5_000.0);
    assert_eq!(value_of(&metrics, TASK_GROUP, "record-lateness-avg", &task), 1_375.0);
    assert!(value_of(&metrics, TASK_GROUP, "process-latency-max", &task) >= 0.0);
    // At DEBUG the store measures its calls: a fetch and a put per window updated, a flush
    // per commit (the driver commits after every record).
    for op in ["put", "fetch", "flush"] {
        assert!(value_of(&metrics, STORE_GROUP, &format!("{op}-rate"), &store) > 0.0, "{op}");
        assert!(value_of(&metrics, STORE_GROUP, &format!("{op}-latency-max"), &store) >= 0.0, "{op}");
    }
}

#[test]
fn an_unknown_recording_level_is_refused_by_name() {
    let mut config = StreamsConfig::new("levels");
    config.set("metrics.recording.level", "debug");
    let streams = KafkaStreams::new(wordcount::topology(), config, Arc::new(MemoryCluster::new()));
    let error =
        tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("`metrics.recording.level` = `debug`; expected `INFO`, `DEBUG` or `TRACE`"),
        "{error}"
    );
}

#[test]
fn at_debug_tasks_and_stores_measure_what_they_do() {
    use streams_runtime::metrics::{STORE_GROUP, TASK_GROUP};
    let cluster = streams_tests::sample_cluster(2);
    let mut config = StreamsConfig::new("wc-debug");
    config.set("metrics.recording.level", "DEBUG");
    let streams = Arc::new(KafkaStreams::new(wordcount::topology(), config, Arc::new(cluster)));
    let running = streams_tests::run_in_background(&streams, RunMode::UntilShutdown);
    let words: i64 = streams_tests::golden_counts(wordcount::SAMPLE).values().sum();
    let expected = wordcount::SAMPLE.len() as u64 + words as u64;
    let started = Instant::now();
    while streams.processed_records() < expected {
        assert!(started.elapsed() < Duration::from_secs(60), "processed {}", streams.processed_records());
        std::thread::sleep(Duration::from_millis(20));
    }
    // Task metrics are a running task's: read them before the tasks close.
    let metrics = streams.metrics();
    streams.shutdown();
    running.join().unwrap().unwrap();
    let total = |group: &str, name: &str| -> f64 {
        metrics
            .iter()
            .filter(|m| m.name.group == group && m.name.name == name)
            .filter_map(|m| m.value.number())
            .sum()
    };
    // Every line, then every word from the repartition topic, through the tasks' sources.
    assert_eq!(total(TASK_GROUP, "process-total"), expected as f64);
    assert!(total(TASK_GROUP, "record-lateness-max") >= 0.0);
    // The count's store: a get and a put per word.
    assert!(total(STORE_GROUP, "put-rate") > 0.0);
    assert!(total(STORE_GROUP, "get-rate") > 0.0);
    let text = streams_runtime::metrics::prometheus::render(&metrics);
    if let Some(checked) = streams_tests::promtool_check(&text) {
        assert!(checked.status.success(), "promtool: {}", String::from_utf8_lossy(&checked.stderr));
    }
    parse(&text);
}

#[test]
fn a_restoring_task_counts_the_changelog_records_it_restores() {
    use streams_runtime::metrics::TASK_GROUP;
    let cluster = streams_tests::sample_cluster(2);
    let run = |mode| {
        let mut config = StreamsConfig::new("wc-restore");
        config.set("metrics.recording.level", "DEBUG");
        let streams = Arc::new(KafkaStreams::new(wordcount::topology(), config, Arc::new(cluster.clone())));
        let running = streams_tests::run_in_background(&streams, mode);
        (streams, running)
    };
    // A first run fills the count's changelog.
    run(RunMode::UntilDrained).1.join().unwrap().unwrap();
    let changelog = "wc-restore-KSTREAM-AGGREGATE-STATE-STORE-0000000004-changelog";
    let logged: u64 = (0..2).map(|p| cluster.end_offset(changelog, p)).sum();
    assert!(logged > 0);
    // The next one restores it, task by task, before it runs.
    let (streams, running) = run(RunMode::UntilShutdown);
    let started = Instant::now();
    while streams.state() != State::Running {
        assert!(started.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(10));
    }
    let metrics = streams.metrics();
    streams.shutdown();
    running.join().unwrap().unwrap();
    let total = |name: &str| -> f64 {
        metrics
            .iter()
            .filter(|m| m.name.group == TASK_GROUP && m.name.name == name)
            .filter_map(|m| m.value.number())
            .sum()
    };
    assert_eq!(total("restore-total"), logged as f64);
    assert_eq!(total("restore-remaining-records-total"), 0.0);
    assert!(total("restore-rate") > 0.0);
}
