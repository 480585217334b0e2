//! Behaviour tests of streams-runtime; see the `[[test]]` targets. This library holds what
//! they share.

pub mod instance;
pub mod kafka;

/// A file of `tests/fixtures/kafka/`: outputs of Apache Kafka itself, written by
/// `tools/kafka-reference`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/fixtures/kafka/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Kafka's split/merge topology of `fixtures/kafka/describe_split_merge.txt`, built by hand.
pub fn split_merge_by_hand() -> streams_runtime::Topology {
    let b = streams_runtime::StreamsBuilder::new();
    let mut branches = b
        .stream::<String, i64>("input")
        .filter(|_, v| *v != 0)
        .split()
        .branch("negative", |_, v| *v < 0)
        .default_branch("positive");
    let negative = branches.take("negative").map_values(|v| -v);
    let positive = branches.take("positive");
    positive.clone().to("positives");
    negative.merge(positive).to("absolute");
    b.build()
}

/// The count of every word in `lines`, computed directly.
pub fn golden_counts<S: AsRef<str>>(lines: &[S]) -> std::collections::BTreeMap<String, i64> {
    let mut counts = std::collections::BTreeMap::new();
    for line in lines {
        for w in examples::wordcount::words(line.as_ref()) {
            if !w.is_empty() && w != "the" {
                *counts.entry(w).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// One HTTP/1.1 GET to `host` (`HOST:PORT`) without following redirects: the status, the
/// `Location` header and the body read as JSON (`null` if it is not).
pub fn http_get(host: &str, path: &str) -> (u16, Option<String>, serde_json::Value) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let location = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("location: "))
        .map(|l| l["location: ".len()..].to_string());
    (status, location, serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
}

/// A free port on loopback, for an address chosen before the server that listens there.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The embedded cluster with word count's sample lines in its input topic of `partitions`
/// partitions (null keys, timestamps 0, 1, ...).
pub fn sample_cluster(partitions: u32) -> streams_runtime::cluster::memory::MemoryCluster {
    use streams_runtime::cluster::Cluster;
    let input = examples::wordcount::INPUT;
    let cluster = streams_runtime::cluster::memory::MemoryCluster::with_auto_create(Some(partitions));
    cluster.create_topic(input, partitions).expect("a new topic");
    for (i, line) in examples::wordcount::SAMPLE.iter().enumerate() {
        let value = Some(line.as_bytes().to_vec());
        cluster
            .produce(input, None, None, value, i as i64, streams_runtime::Headers::new())
            .expect("produced");
    }
    cluster
}

/// Runs `streams` on a thread of its own until `mode` ends it.
pub fn run_in_background(
    streams: &std::sync::Arc<streams_runtime::KafkaStreams>,
    mode: streams_runtime::RunMode,
) -> std::thread::JoinHandle<Result<(), streams_runtime::StreamsError>> {
    let streams = streams.clone();
    std::thread::spawn(move || tokio::runtime::Runtime::new().expect("a runtime").block_on(streams.run(mode)))
}

/// `promtool check metrics` of a Prometheus text (`None` when promtool is not installed;
/// CI installs it).
pub fn promtool_check(text: &str) -> Option<std::process::Output> {
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    Some(child.wait_with_output().unwrap())
}
