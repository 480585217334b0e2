//! Interactive queries on the embedded cluster: key, range and all on key-value stores, fetch
//! on window and session stores, where a key lives, and the same over HTTP.

use std::sync::Arc;
use std::time::Duration;

use examples::wordcount;
use serde_json::{json, Value};
use streams_runtime::cluster::memory::MemoryCluster;
use streams_runtime::cluster::Cluster;
use streams_runtime::partitioner::partition_for_key;
use streams_runtime::prelude::*;
use streams_runtime::{
    HostInfo, KafkaStreams, QueryError, RunMode, StoreQuery, StreamsConfig, StreamsMetadata,
};
use streams_tests::{free_port, golden_counts, http_get};

const COUNTS: &str = "KSTREAM-AGGREGATE-STATE-STORE-0000000004";
const SERVER: &str = "127.0.0.1:7070";

/// Word count over the sample on two partitions, run to its end, with `application.server`.
fn word_count() -> KafkaStreams {
    let cluster = streams_tests::sample_cluster(2);
    let mut config = StreamsConfig::new("iq");
    config.set("application.server", SERVER);
    let streams = KafkaStreams::new(wordcount::topology(), config, Arc::new(cluster));
    tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    streams
}

fn get(key: &str) -> StoreQuery {
    StoreQuery::Get { key: json!(key) }
}

#[test]
fn key_range_and_all_queries_answer_what_the_tasks_counted() {
    let streams = word_count();
    let golden = golden_counts(wordcount::SAMPLE);
    assert_eq!(streams.query(COUNTS, &get("kafka")).unwrap(), json!(golden["kafka"]));
    assert_eq!(streams.query(COUNTS, &get("applications")).unwrap(), json!(golden["applications"]));
    // `the` is filtered out by the topology: no such key.
    assert_eq!(streams.query(COUNTS, &get("the")), Err(QueryError::NotFound));
    assert_eq!(
        streams.query("no-such-store", &get("kafka")),
        Err(QueryError::UnknownStore("no-such-store".into()))
    );

    // `all` over both tasks: every word once, each task's in the key's byte order, one task
    // after the other (as Kafka's `CompositeReadOnlyKeyValueStore`).
    let all = streams.query(COUNTS, &StoreQuery::All).unwrap();
    let mut rows: Vec<(String, i64)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["key"].as_str().unwrap().to_string(), r["value"].as_i64().unwrap()))
        .collect();
    let task_of = |word: &str| partition_for_key(word.as_bytes(), 2);
    assert!(rows.windows(2).all(|w| w[0].0 < w[1].0 || task_of(&w[0].0) != task_of(&w[1].0)), "{rows:?}");
    rows.sort();
    let expected: Vec<(String, i64)> = golden.clone().into_iter().collect();
    assert_eq!(rows, expected);

    // A range with both bounds, and one open at the top.
    let range = |from: Option<&str>, to: Option<&str>| -> Vec<String> {
        let q = StoreQuery::Range { from: from.map(|f| json!(f)), to: to.map(|t| json!(t)) };
        let answer = streams.query(COUNTS, &q).unwrap();
        let mut keys: Vec<String> =
            answer.as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap().to_string()).collect();
        keys.sort();
        keys
    };
    let within = |lo: &str, hi: Option<&str>| -> Vec<String> {
        golden.keys().filter(|k| k.as_str() >= lo && hi.is_none_or(|h| k.as_str() <= h)).cloned().collect()
    };
    assert_eq!(range(Some("b"), Some("d")), within("b", Some("d")));
    assert!(!range(Some("b"), Some("d")).is_empty());
    assert_eq!(range(Some("s"), None), within("s", None));

    // A key the key codec cannot write: `null` for a `String` key (other JSON is read as
    // its text, as on the command line).
    let bad = streams.query(COUNTS, &StoreQuery::Get { key: Value::Null }).unwrap_err();
    assert!(matches!(bad, QueryError::BadKey { .. }), "{bad:?}");
    // A key-value store has no windows.
    let unsupported = streams.query(COUNTS, &StoreQuery::Fetch { key: json!("kafka"), from: 0, to: 10 });
    assert!(matches!(unsupported, Err(QueryError::Unsupported { .. })), "{unsupported:?}");
}

#[test]
fn metadata_names_the_partition_of_a_key_and_this_instance() {
    let streams = word_count();
    let meta = streams.query_metadata_for_key::<String>(COUNTS, &"kafka".to_string()).unwrap();
    assert_eq!(meta.partition, partition_for_key(b"kafka", 2));
    assert_eq!(meta.active_host, Some(HostInfo::parse(SERVER).unwrap()));
    assert!(meta.local);
    assert_eq!(streams.query_metadata_for_json_key(COUNTS, &json!("kafka")).unwrap(), meta);
    // Where the key lives is known even for a key no task has seen.
    let unseen = streams.query_metadata_for_json_key(COUNTS, &json!("zebra")).unwrap();
    assert_eq!(unseen.partition, partition_for_key(b"zebra", 2));
    assert_eq!(streams.query_key(COUNTS, &get("zebra")), Err(QueryError::NotFound));
    assert_eq!(
        streams.query_key(COUNTS, &get("kafka")).unwrap(),
        json!(golden_counts(wordcount::SAMPLE)["kafka"])
    );

    let all: Vec<StreamsMetadata> = streams.streams_metadata_for_store(COUNTS);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].host, Some(HostInfo::parse(SERVER).unwrap()));
    assert!(all[0].state_store_names.contains(COUNTS));
    // The counting sub-topology reads the repartition topic: both its partitions are here.
    let partitions: Vec<u32> = all[0].topic_partitions.iter().map(|(_, p)| *p).collect();
    assert_eq!(partitions, [0, 1]);
    assert!(all[0].topic_partitions.iter().all(|(t, _)| t.ends_with("-repartition")), "{all:?}");
    assert!(streams.streams_metadata_for_store("no-such-store").is_empty());
    assert!(HostInfo::parse("no-port").is_err());
}

fn run_on_embedded(topology: Topology, topic: &str, records: &[(&str, i64, i64)]) -> KafkaStreams {
    let cluster = MemoryCluster::with_auto_create(Some(1));
    cluster.create_topic(topic, 1).unwrap();
    for (key, value, ts) in records {
        let (k, v) = (String::encode(&key.to_string()).unwrap(), i64::encode(value).unwrap());
        cluster.produce(topic, None, k, v, *ts, Headers::new()).unwrap();
    }
    let streams = KafkaStreams::new(topology, StreamsConfig::new("iq-windows"), Arc::new(cluster));
    tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    streams
}

#[test]
fn window_and_session_stores_answer_fetches_of_a_key() {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("events")
        .group_by_key()
        .window(TimeWindows::of(Duration::from_secs(5)).grace(Duration::from_secs(60)))
        .named("per-5s")
        .count()
        .to_stream()
        .to("per-5s");
    let events = [("a", 1, 1_000), ("a", 1, 2_000), ("a", 1, 7_000), ("b", 1, 3_000)];
    let streams = run_on_embedded(b.build(), "events", &events);
    let fetch = |key: &str, from: i64, to: i64| {
        streams.query("per-5s", &StoreQuery::Fetch { key: json!(key), from, to }).unwrap()
    };
    assert_eq!(
        fetch("a", 0, 10_000),
        json!([{"start": 0, "end": 5_000, "value": 2}, {"start": 5_000, "end": 10_000, "value": 1}])
    );
    // Windows whose start falls in [from, to], as Kafka's `fetch(key, timeFrom, timeTo)`.
    assert_eq!(fetch("a", 1, 5_000), json!([{"start": 5_000, "end": 10_000, "value": 1}]));
    assert_eq!(fetch("c", 0, 10_000), json!([]));
    let all = streams.query("per-5s", &StoreQuery::All).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 3, "{all}");
    assert!(matches!(streams.query("per-5s", &get("a")), Err(QueryError::Unsupported { .. })));

    let b = StreamsBuilder::new();
    b.stream::<String, i64>("clicks")
        .group_by_key()
        .session(SessionWindows::with_inactivity_gap(Duration::from_secs(2)).grace(Duration::from_secs(60)))
        .named("sessions")
        .count()
        .to_stream()
        .to("sessions");
    let clicks = [("u", 1, 1_000), ("u", 1, 2_000), ("u", 1, 9_000), ("v", 1, 1_500)];
    let streams = run_on_embedded(b.build(), "clicks", &clicks);
    let sessions = |key: &str, from: i64, to: i64| {
        streams.query("sessions", &StoreQuery::Fetch { key: json!(key), from, to }).unwrap()
    };
    assert_eq!(
        sessions("u", 0, i64::MAX),
        json!([
            {"key": "u", "start": 1_000, "end": 2_000, "value": 2},
            {"key": "u", "start": 9_000, "end": 9_000, "value": 1}
        ])
    );
    // Sessions overlapping [from, to], with their keys (Kafka's session `fetch` answers
    // windowed keys, a window store's `fetch` of one key only times and values).
    assert_eq!(sessions("u", 5_000, 9_500), json!([{"key": "u", "start": 9_000, "end": 9_000, "value": 1}]));
    assert_eq!(sessions("v", 0, i64::MAX), json!([{"key": "v", "start": 1_500, "end": 1_500, "value": 1}]));
}

#[test]
fn the_http_endpoint_answers_keys_ranges_all_and_metadata() {
    let streams = word_count();
    let golden = golden_counts(wordcount::SAMPLE);
    let server = streams.serve_queries("127.0.0.1:0").unwrap();
    let addr = server.local_addr();
    let host = addr.to_string();
    let store = format!("/stores/{COUNTS}");

    let (status, _, body) = http_get(&host, &format!("{store}/keys/kafka"));
    assert_eq!((status, body), (200, json!({"key": "kafka", "value": golden["kafka"]})));
    let (status, _, body) = http_get(&host, &format!("{store}/keys/zebra"));
    assert_eq!(status, 404, "{body}");
    let (status, _, body) = http_get(&host, "/stores/no-such-store/keys/kafka");
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("no-such-store"), "{body}");

    let (status, _, body) = http_get(&host, &format!("{store}/all"));
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), golden.len());
    let (status, _, body) = http_get(&host, &format!("{store}/range?from=b&to=d"));
    assert_eq!(status, 200);
    let mut keys: Vec<&str> = body.as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap()).collect();
    keys.sort();
    let expected: Vec<&str> = golden.keys().map(String::as_str).filter(|k| ("b"..="d").contains(k)).collect();
    assert_eq!(keys, expected);

    let (status, _, body) = http_get(&host, &format!("{store}/keys/kafka/metadata"));
    assert_eq!(status, 200);
    assert_eq!(body, json!({"host": SERVER, "partition": partition_for_key(b"kafka", 2), "local": true}));
    let (status, _, body) = http_get(&host, &format!("{store}/metadata"));
    assert_eq!(status, 200);
    assert_eq!(body[0]["host"], json!(SERVER));
    assert_eq!(body[0]["partitions"].as_array().unwrap().len(), 2, "{body}");

    // A key-value store has no windows: the request is refused, saying what it answers.
    let (status, _, body) = http_get(&host, &format!("{store}/keys/kafka/windows?from=0&to=10"));
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = http_get(&host, &format!("{store}/keys/kafka/windows?from=soon"));
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("`from`"), "{body}");
    drop(server);
    assert!(std::net::TcpStream::connect(addr).is_err(), "the endpoint stops when dropped");
}

/// The command line's `--query-addr`: while the demo is written in real time, the endpoint
/// answers the counts so far.
#[test]
fn the_command_line_serves_queries_while_it_runs() {
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let answered = std::sync::Mutex::new(None);
    std::thread::scope(|s| {
        let run = s.spawn(|| {
            let mut out = Vec::new();
            let address = addr.to_string();
            streams_runtime::cli::run_with_args_to(
                "wordcount",
                wordcount::topology(),
                |d| {
                    // Five lines a second apart in event time: ~4 s of wall clock under --pace.
                    for i in 0..5 {
                        d.send::<(), String>(wordcount::INPUT, (), "queried word".into(), 1_000 * i);
                    }
                },
                ["wordcount", "--pace", "--query-addr", address.as_str()],
                &mut out,
            )
        });
        while !run.is_finished() {
            if std::net::TcpStream::connect(addr).is_ok() {
                let (status, _, body) =
                    http_get(&addr.to_string(), &format!("/stores/{COUNTS}/keys/queried"));
                if status == 200 {
                    *answered.lock().unwrap() = Some(body);
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(run.join().unwrap(), std::process::ExitCode::SUCCESS);
    });
    let body = answered.lock().unwrap().take().expect("the endpoint answered while the demo ran");
    assert_eq!(body["key"], json!("queried"));
    assert!((1..=5).contains(&body["value"].as_i64().unwrap()), "{body}");
}
