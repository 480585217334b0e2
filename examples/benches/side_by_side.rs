//! Side by side with Kafka Streams 4.4.0 on one broker: the examples' topologies run as
//! separate processes under `/usr/bin/time -v`, ours and Kafka Streams'
//! (`tools/kafka-reference/Bench.java`) in turn, on the same input topics, with the settings
//! both share (commit 1 s, a 10 MiB record cache, producer linger 5 ms, in-memory stores).
//!
//! A run's time goes from the first record processed (each process prints when) to the
//! broker's append time of the last output record (output topics use `LogAppendTime`), so
//! start-up and group joining are not counted; its CPU seconds and peak RSS are the whole
//! process's. Ours stops by itself once drained; Kafka Streams is stopped (SIGTERM) once its
//! group has committed every input to its end. Runs alternate which side goes first. Prints a
//! table (min and median over the runs, ratios of medians) and writes it with a plot to
//! `docs/side-by-side.md` and `docs/side-by-side.svg`.
//!
//! `scripts/kafka-broker.sh run cargo bench -p examples --bench side_by_side -- [--mb 10]
//! [--runs 3] [--trades 1000000] [--only NAME] [--compression lz4|zstd|gzip|snappy] [--off-cpu DIR]`
//!
//! `--compression` sets both sides' producers' `compression.type` (every topic they write:
//! repartition, changelog, output); such a run prints its table without writing `docs/`, as
//! does a run with `--only`, or with `--off-cpu DIR`: ours then runs under
//! `perf sched record -g` (data in `DIR/<app>.data`; `scripts/off-cpu.py` sums where each
//! thread slept).
#![allow(missing_docs)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use examples::{stockstats, wordcount};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};
use streams_runtime::{KafkaStreams, RunMode, StreamsConfig};

const PARTITIONS: i32 = 4;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// One benchmarked work: a topology, its threads and guarantee.
#[derive(Clone, Copy)]
struct Work {
    name: &'static str,
    topology: &'static str,
    threads: u32,
    guarantee: &'static str,
}

const WORKS: &[Work] = &[
    Work { name: "word count, 1 thread", topology: "wordcount", threads: 1, guarantee: "at_least_once" },
    Work { name: "word count, 2 threads", topology: "wordcount", threads: 2, guarantee: "at_least_once" },
    // Ours with `pre_aggregated` (not Kafka's), against Kafka Streams' plain word count.
    Work {
        name: "word count, 1 thread, ours pre-aggregated",
        topology: "wordcount-pre",
        threads: 1,
        guarantee: "at_least_once",
    },
    Work {
        name: "word count, exactly-once",
        topology: "wordcount",
        threads: 1,
        guarantee: "exactly_once_v2",
    },
    Work {
        name: "stock stats (hopping 5 s / 1 s + top 3)",
        topology: "stockstats",
        threads: 1,
        guarantee: "at_least_once",
    },
];

fn inputs_of(topology: &str) -> &'static [&'static str] {
    match topology {
        "wordcount" | "wordcount-pre" => &[wordcount::INPUT],
        _ => &[stockstats::INPUT],
    }
}

fn outputs_of(topology: &str) -> &'static [&'static str] {
    match topology {
        "wordcount" | "wordcount-pre" => &[wordcount::OUTPUT],
        _ => &[stockstats::STATS, stockstats::TOP3],
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Side {
    Ours,
    KafkaStreams,
}

/// What one run measured.
struct Measured {
    seconds: f64,
    cpu: f64,
    rss_mb: f64,
    load: f64,
}

struct Broker {
    bootstrap: String,
    admin: AdminClient<DefaultClientContext>,
    runtime: tokio::runtime::Runtime,
}

impl Broker {
    fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap);
        c
    }

    /// The topic, empty, with `partitions` partitions (deleted first if it exists).
    fn recreate(&self, topic: &str, log_append_time: bool) {
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let _ = self.runtime.block_on(self.admin.delete_topics(&[topic], &options));
        let new_topic = || {
            let t = NewTopic::new(topic, PARTITIONS, TopicReplication::Fixed(1)).set("retention.ms", "-1");
            if log_append_time {
                t.set("message.timestamp.type", "LogAppendTime")
            } else {
                t
            }
        };
        let since = Instant::now();
        loop {
            let result = self.runtime.block_on(self.admin.create_topics(&[new_topic()], &options)).unwrap();
            match &result[0] {
                Ok(_) => break,
                // Still being deleted.
                Err(_) if since.elapsed() < Duration::from_secs(60) => {
                    std::thread::sleep(Duration::from_millis(500))
                }
                Err(e) => panic!("cannot create {topic}: {e:?}"),
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }

    fn write(&self, topic: &str, records: impl Iterator<Item = (Option<Vec<u8>>, Vec<u8>, i64)>) -> usize {
        let producer: BaseProducer = self.client().set("linger.ms", "20").create().unwrap();
        let mut n = 0;
        for (key, value, ts) in records {
            let mut record = BaseRecord::<Vec<u8>, Vec<u8>>::to(topic).payload(&value).timestamp(ts);
            if let Some(k) = &key {
                record = record.key(k);
            }
            let mut record = Some(record);
            while let Some(r) = record.take() {
                if let Err((_, back)) = producer.send(r) {
                    producer.poll(Duration::from_millis(5));
                    record = Some(back);
                }
            }
            n += 1;
        }
        producer.flush(Duration::from_secs(120)).unwrap();
        n
    }

    fn ends(&self, consumer: &BaseConsumer, topic: &str) -> Vec<i64> {
        (0..PARTITIONS)
            .map(|p| consumer.fetch_watermarks(topic, p, Duration::from_secs(10)).unwrap().1)
            .collect()
    }

    /// Whether group `app` has committed every input to its end, and every repartition topic
    /// of it to its end (or to the marker before it, exactly-once).
    fn drained(&self, app: &str, inputs: &[&str]) -> bool {
        let consumer: BaseConsumer = self.client().set("group.id", app).create().unwrap();
        let metadata = match consumer.fetch_metadata(None, Duration::from_secs(10)) {
            Ok(m) => m,
            Err(_) => return false,
        };
        let repartitions: Vec<String> = metadata
            .topics()
            .iter()
            .map(|t| t.name().to_string())
            .filter(|t| t.starts_with(&format!("{app}-")) && t.ends_with("-repartition"))
            .collect();
        let mut tpl = TopicPartitionList::new();
        let topics: Vec<&str> =
            inputs.iter().copied().chain(repartitions.iter().map(String::as_str)).collect();
        for t in &topics {
            for p in 0..PARTITIONS {
                tpl.add_partition(t, p);
            }
        }
        let Ok(committed) = consumer.committed_offsets(tpl, Duration::from_secs(10)) else { return false };
        topics.iter().all(|t| {
            let ends = self.ends(&consumer, t);
            let slack = if inputs.contains(t) { 0 } else { 1 };
            (0..PARTITIONS).all(|p| match committed.find_partition(t, p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => o >= ends[p as usize] - slack,
                _ => ends[p as usize] == 0,
            })
        })
    }

    /// The broker's append time of the last record of the topics.
    fn last_append(&self, topics: &[&str]) -> i64 {
        let consumer: BaseConsumer = self.client().set("group.id", "side-by-side-reader").create().unwrap();
        let mut last = 0;
        for t in topics {
            let ends = self.ends(&consumer, t);
            let mut tpl = TopicPartitionList::new();
            for p in 0..PARTITIONS {
                if ends[p as usize] > 0 {
                    tpl.add_partition_offset(t, p, Offset::Offset((ends[p as usize] - 3).max(0))).unwrap();
                }
            }
            consumer.assign(&tpl).unwrap();
            let since = Instant::now();
            let mut seen = vec![false; PARTITIONS as usize];
            while since.elapsed() < Duration::from_secs(10) {
                match consumer.poll(Duration::from_millis(200)) {
                    Some(Ok(m)) => {
                        last = last.max(m.timestamp().to_millis().unwrap_or(0));
                        if m.offset() + 1 >= ends[m.partition() as usize] - 1 {
                            seen[m.partition() as usize] = true;
                        }
                    }
                    Some(Err(e)) => panic!("{e}"),
                    None if (0..PARTITIONS).all(|p| seen[p as usize] || ends[p as usize] == 0) => break,
                    None => {}
                }
            }
        }
        last
    }
}

/// `/usr/bin/time -v` around `program args`, its report written to `report`.
fn timed(program: &Path, args: &[String], report: &Path, env: &[(&str, &str)]) -> Child {
    let mut c = Command::new("/usr/bin/time");
    // The program's own stderr (its logs) next to the report.
    let log = std::fs::File::create(report.with_extension("log")).expect("a log file");
    c.arg("-v").arg("-o").arg(report).arg(program).args(args).stdout(Stdio::piped()).stderr(log);
    for (k, v) in env {
        c.env(k, v);
    }
    c.spawn().expect("/usr/bin/time")
}

/// (CPU seconds, peak RSS in MB) from a `time -v` report.
fn usage(report: &Path) -> (f64, f64) {
    let text = std::fs::read_to_string(report).unwrap_or_default();
    let field = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(f64::NAN)
    };
    let cpu = field("User time (seconds):") + field("System time (seconds):");
    (cpu, field("Maximum resident set size (kbytes):") / 1024.0)
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(f64::NAN)
}

/// The first line `first-processed-ms N` a child prints, read in the background.
fn first_processed(child: &mut Child) -> std::thread::JoinHandle<Option<i64>> {
    let out = child.stdout.take().expect("piped");
    std::thread::spawn(move || {
        BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("first-processed-ms ").and_then(|v| v.trim().parse().ok()))
    })
}

struct Bench {
    broker: Broker,
    reference: PathBuf,
    tag: String,
    reports: PathBuf,
    /// The producers' `compression.type` on both sides (`none` by default).
    compression: String,
    /// `--off-cpu DIR`: ours runs under `perf sched record`, its data in `DIR`.
    off_cpu: Option<PathBuf>,
}

impl Bench {
    fn run(&self, work: Work, side: Side, run: usize) -> Measured {
        for t in outputs_of(work.topology) {
            self.broker.recreate(t, true);
        }
        let app = format!(
            "side-{}-{}-{}{}-{:?}-{run}",
            self.tag,
            work.topology,
            work.threads,
            work.guarantee.len(),
            side
        )
        .to_lowercase();
        let args: Vec<String> =
            [work.topology, &self.broker.bootstrap, &app, &work.threads.to_string(), work.guarantee]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let report = self.reports.join(format!("{app}.txt"));
        let load = load_average();
        let mut child = match side {
            Side::Ours => {
                let exe = std::env::current_exe().unwrap();
                let mut a = vec!["--child".to_string()];
                a.extend(args);
                // Warnings, and where each stream thread's time went (logged as it stops).
                let env = [
                    ("RUST_LOG", "warn,streams_runtime::metrics=info"),
                    ("BENCH_COMPRESSION", &self.compression),
                ];
                match &self.off_cpu {
                    // Under `perf sched record -g` (machine-wide, the broker included): where each
                    // thread went to sleep, and for how long (`scripts/off-cpu.py`). Its time and
                    // CPU include perf's work.
                    Some(dir) => {
                        let data = dir.join(format!("{app}.data"));
                        let mut p = vec!["sched".to_string(), "record".into(), "-g".into(), "-o".into()];
                        p.push(data.display().to_string());
                        p.push(exe.display().to_string());
                        p.extend(a);
                        timed(Path::new("perf"), &p, &report, &env)
                    }
                    None => timed(&exe, &a, &report, &env),
                }
            }
            Side::KafkaStreams => {
                let classpath = format!("{0}/target/bench:{0}/target/lib/*", self.reference.display());
                let mut a = vec!["-cp".to_string(), classpath, "Bench".to_string()];
                a.extend(args);
                // Kafka Streams has no pre-aggregation: its plain word count.
                if a[3] == "wordcount-pre" {
                    a[3] = "wordcount".to_string();
                }
                timed(Path::new("java"), &a, &report, &[("BENCH_COMPRESSION", &self.compression)])
            }
        };
        let first = first_processed(&mut child);
        match side {
            Side::Ours => {
                let status = child.wait().unwrap();
                assert!(status.success(), "{app}: {status}");
            }
            Side::KafkaStreams => {
                let since = Instant::now();
                while !self.broker.drained(&app, inputs_of(work.topology)) {
                    assert!(
                        since.elapsed() < Duration::from_secs(1_800),
                        "{app}: not drained after 30 minutes"
                    );
                    std::thread::sleep(Duration::from_millis(250));
                }
                // SIGTERM to the JVM (the child of `time`): Kafka Streams closes.
                let jvm =
                    std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id())).unwrap();
                Command::new("kill").arg(jvm.trim()).status().unwrap();
                child.wait().unwrap();
            }
        }
        let first = first.join().unwrap().unwrap_or_else(|| panic!("{app}: no first-processed-ms"));
        if side == Side::Ours {
            let log = std::fs::read_to_string(report.with_extension("log")).unwrap_or_default();
            for line in log.lines().filter(|l| l.contains("stream thread time spent")) {
                let fields: Vec<&str> = line.split_whitespace().filter(|w| w.contains("_s=")).collect();
                println!("  {app}: stream thread time {}", fields.join(" "));
            }
        }
        let last = self.broker.last_append(outputs_of(work.topology));
        let (cpu, rss_mb) = usage(&report);
        Measured { seconds: (last - first) as f64 / 1e3, cpu, rss_mb, load }
    }
}

/// The child: our topology on Kafka until drained, printing when it processed its first record.
fn child(args: &[String]) {
    let [topology, bootstrap, app, threads, guarantee] = args else {
        panic!("--child TOPOLOGY BOOTSTRAP APP THREADS GUARANTEE")
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let mut config = StreamsConfig::new(app);
    config
        .set("bootstrap.servers", bootstrap)
        .set("num.stream.threads", threads)
        .set("processing.guarantee", guarantee)
        .set("commit.interval.ms", "1000")
        .set("statestore.cache.max.bytes", (10 << 20).to_string())
        .set("producer.linger.ms", "5")
        .set(
            "producer.compression.type",
            std::env::var("BENCH_COMPRESSION").unwrap_or_else(|_| "none".into()),
        );
    let topology = match topology.as_str() {
        "wordcount" => wordcount::topology(),
        "wordcount-pre" => wordcount::pre_aggregated_topology_on(wordcount::INPUT, wordcount::OUTPUT),
        _ => stockstats::topology(),
    };
    let streams = Arc::new(KafkaStreams::connect(topology, config).unwrap());
    let watcher = {
        let streams = streams.clone();
        std::thread::spawn(move || {
            while streams.processed_records() == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
            println!("first-processed-ms {}", now_ms());
        })
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(streams.run(RunMode::UntilDrained)).unwrap();
    watcher.join().unwrap();
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Horizontal bars of ours / Kafka Streams per work: throughput, CPU seconds, peak RSS.
fn svg(rows: &[(String, [f64; 3])]) -> String {
    let (width, label, bar_h, gap) = (760.0, 300.0, 14.0, 12.0);
    let scale =
        rows.iter().flat_map(|(_, r)| r.iter().copied()).filter(|v| v.is_finite()).fold(1.0f64, f64::max);
    let unit = (width - label - 60.0) / scale;
    let height = 40.0 + rows.len() as f64 * (3.0 * bar_h + gap) + 30.0;
    let colours = ["#2b6cb0", "#c05621", "#2f855a"];
    let names = ["throughput", "CPU seconds", "peak RSS"];
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"18\" font-size=\"14\">ours ÷ Kafka Streams 4.4.0 (medians; the line is 1×)</text>\n"
    );
    for (i, (name, colour)) in names.iter().zip(colours).enumerate() {
        let x = label + i as f64 * 130.0;
        s += &format!("<rect x=\"{x}\" y=\"26\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{}\" y=\"35\">{name}</text>\n", x + 14.0);
    }
    let mut y = 44.0;
    for (name, ratios) in rows {
        s += &format!("<text x=\"10\" y=\"{}\">{name}</text>\n", y + 1.6 * bar_h);
        for (r, colour) in ratios.iter().zip(colours) {
            let w = if r.is_finite() { r * unit } else { 0.0 };
            s += &format!(
                "<rect x=\"{label}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{:.1}\">{r:.2}×</text>\n",
                bar_h - 2.0,
                label + w + 4.0,
                y + bar_h - 4.0
            );
            y += bar_h;
        }
        y += gap;
    }
    let one = label + unit;
    s += &format!("<line x1=\"{one:.1}\" y1=\"40\" x2=\"{one:.1}\" y2=\"{:.1}\" stroke=\"black\" stroke-dasharray=\"3,3\"/>\n</svg>\n", y);
    s
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return child(&args[i + 1..]);
    }
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let megabytes: usize = flag("--mb").and_then(|v| v.parse().ok()).unwrap_or(10);
    let runs: usize = flag("--runs").and_then(|v| v.parse().ok()).unwrap_or(3);
    let trades: i64 = flag("--trades").and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let only = flag("--only");
    let compression = flag("--compression").unwrap_or_else(|| "none".to_string());
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP")
        .expect("KAFKA_BOOTSTRAP: run under scripts/kafka-broker.sh run cargo bench ...");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let reference = root.join("tools/kafka-reference");
    if !reference.join("target/lib/kafka-streams-4.4.0.jar").exists() {
        let ok = Command::new("mvn")
            .args(["-q", "dependency:copy-dependencies", "-DoutputDirectory=target/lib"])
            .current_dir(&reference)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mvn could not fetch Kafka Streams");
    }
    let ok = Command::new("javac")
        .args(["-cp", "target/lib/*", "-d", "target/bench", "Bench.java"])
        .current_dir(&reference)
        .status()
        .unwrap()
        .success();
    assert!(ok, "javac Bench.java failed");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let admin = ClientConfig::new().set("bootstrap.servers", &bootstrap).create().unwrap();
    let reports = std::env::temp_dir().join("side-by-side");
    std::fs::create_dir_all(&reports).unwrap();
    let bench = Bench {
        broker: Broker { bootstrap, admin, runtime },
        reference,
        tag: format!("{}", now_ms() % 100_000_000),
        reports,
        compression: compression.clone(),
        off_cpu: flag("--off-cpu").map(PathBuf::from),
    };
    let works: Vec<Work> = WORKS
        .iter()
        .copied()
        .filter(|w| only.as_ref().is_none_or(|o| w.name.contains(o.as_str()) || w.topology == o))
        .collect();
    // The inputs, written once.
    let mut records: HashMap<&str, usize> = HashMap::new();
    if works.iter().any(|w| w.topology.starts_with("wordcount")) {
        bench.broker.recreate(wordcount::INPUT, false);
        let lines = wordcount::synthetic_text(megabytes << 20);
        let n = bench.broker.write(
            wordcount::INPUT,
            lines.iter().enumerate().map(|(i, l)| (None, l.as_bytes().to_vec(), 1_000 + i as i64)),
        );
        records.insert("wordcount", n);
        records.insert("wordcount-pre", n);
        println!("word count input: {n} lines, {megabytes} MB, {PARTITIONS} partitions");
    }
    if works.iter().any(|w| w.topology == "stockstats") {
        bench.broker.recreate(stockstats::INPUT, false);
        let all = stockstats::trades(trades / 10);
        let n = bench.broker.write(
            stockstats::INPUT,
            all.iter()
                .map(|(ts, t)| (Some(t.ticker.as_bytes().to_vec()), serde_json::to_vec(t).unwrap(), *ts)),
        );
        records.insert("stockstats", n);
        println!("stock stats input: {n} trades, {PARTITIONS} partitions");
    }
    let mut measured: HashMap<(usize, Side), Vec<Measured>> = HashMap::new();
    for run in 0..runs {
        for (w, work) in works.iter().enumerate() {
            let order = if run % 2 == 0 {
                [Side::Ours, Side::KafkaStreams]
            } else {
                [Side::KafkaStreams, Side::Ours]
            };
            for side in order {
                let m = bench.run(*work, side, run);
                println!(
                    "run {run}: {} / {side:?}: {:.2} s, {:.0} records/s, {:.1} CPU s, {:.0} MB, load {:.2}",
                    work.name,
                    m.seconds,
                    records[work.topology] as f64 / m.seconds,
                    m.cpu,
                    m.rss_mb,
                    m.load
                );
                measured.entry((w, side)).or_default().push(m);
            }
        }
    }
    let mut table = String::from(
        "| work | ours: records/s (median; best) | Kafka Streams: records/s (median; best) | throughput ours ÷ KS | CPU s ours / KS | peak RSS MB ours / KS | load average |\n|---|---|---|---|---|---|---|\n",
    );
    let mut bars = Vec::new();
    for (w, work) in works.iter().enumerate() {
        let n = records[work.topology] as f64;
        let stat = |side: Side, f: &dyn Fn(&Measured) -> f64| -> (f64, f64) {
            let mut v: Vec<f64> = measured[&(w, side)].iter().map(f).collect();
            let best = v.iter().copied().fold(f64::NAN, f64::min);
            (median(&mut v), best)
        };
        let (ours_s, ours_best) = stat(Side::Ours, &|m| m.seconds);
        let (ks_s, ks_best) = stat(Side::KafkaStreams, &|m| m.seconds);
        let (ours_cpu, _) = stat(Side::Ours, &|m| m.cpu);
        let (ks_cpu, _) = stat(Side::KafkaStreams, &|m| m.cpu);
        let (ours_rss, _) = stat(Side::Ours, &|m| m.rss_mb);
        let (ks_rss, _) = stat(Side::KafkaStreams, &|m| m.rss_mb);
        let loads: Vec<String> = measured[&(w, Side::Ours)]
            .iter()
            .chain(&measured[&(w, Side::KafkaStreams)])
            .map(|m| format!("{:.1}", m.load))
            .collect();
        table += &format!(
            "| {} | {:.0}; {:.0} | {:.0}; {:.0} | **{:.2}×** | {:.1} / {:.1} ({:.2}×) | {:.0} / {:.0} ({:.2}×) | {} |\n",
            work.name,
            n / ours_s,
            n / ours_best,
            n / ks_s,
            n / ks_best,
            ks_s / ours_s,
            ours_cpu,
            ks_cpu,
            ours_cpu / ks_cpu,
            ours_rss,
            ks_rss,
            ours_rss / ks_rss,
            loads.join(", ")
        );
        bars.push((work.name.to_string(), [ks_s / ours_s, ours_cpu / ks_cpu, ours_rss / ks_rss]));
    }
    println!("\n{table}");
    if only.is_some() || compression != "none" || bench.off_cpu.is_some() {
        println!("(compression.type {compression}; not written to docs/: a partial or non-default run)");
        return;
    }
    let docs = root.join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    let header = format!(
        "Measured by `scripts/kafka-broker.sh run cargo bench -p examples --bench side_by_side -- --mb {megabytes} --runs {runs} --trades {trades}` on {} ({} cores); word count input {megabytes} MB, stock stats {trades} trades, {PARTITIONS} partitions.\n\n",
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    std::fs::write(docs.join("side-by-side.md"), header + &table).unwrap();
    std::fs::write(docs.join("side-by-side.svg"), svg(&bars)).unwrap();
    println!("written: docs/side-by-side.md, docs/side-by-side.svg");
}
