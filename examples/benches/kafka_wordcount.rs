//! Word count end to end on a real broker, against the pipe limit.
//!
//! The input (lines of `synthetic_text`, null keys) is written to a 4-partition topic first.
//! Each run then reads all of it: word count with 1 and 2 stream threads (and 1 thread
//! exactly-once, committing every 100 ms), and a bare rdkafka
//! loop that consumes every line and produces it unchanged (no processing: the most any
//! application can do with these clients on this broker). A run's time goes from the moment
//! its first input record is consumed to the broker's append time of its last output record
//! (output topics use `LogAppendTime`), so group joining is not counted.
//!
//! `scripts/kafka-broker.sh run cargo bench -p examples --bench kafka_wordcount [-- MEGABYTES]`
#![allow(missing_docs)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use examples::wordcount;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::Message;
use streams_runtime::cluster::kafka::KafkaClients;
use streams_runtime::{Headers, KafkaStreams, RunMode, StreamsConfig};

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

struct Bench {
    bootstrap: String,
    runtime: tokio::runtime::Runtime,
    tag: String,
}

impl Bench {
    fn config(&self, app: &str) -> StreamsConfig {
        let mut c = StreamsConfig::new(app);
        c.set("bootstrap.servers", &self.bootstrap);
        c
    }

    fn create(&self, topic: &str, partitions: i32, log_append_time: bool) {
        let admin: AdminClient<DefaultClientContext> =
            ClientConfig::new().set("bootstrap.servers", &self.bootstrap).create().unwrap();
        // Event times are in the past: no time-based retention.
        let mut t = NewTopic::new(topic, partitions, TopicReplication::Fixed(1)).set("retention.ms", "-1");
        if log_append_time {
            t = t.set("message.timestamp.type", "LogAppendTime");
        }
        for r in self.runtime.block_on(admin.create_topics(&[t], &AdminOptions::new())).unwrap() {
            r.unwrap();
        }
        std::thread::sleep(Duration::from_millis(500));
    }

    /// The broker's append time of the last record of `topic`, and how many it holds.
    fn last_append(&self, topic: &str) -> (i64, usize) {
        let clients = KafkaClients::new(&self.config("bench-reader")).unwrap();
        let consumer = clients.plain_consumer(&format!("bench-reader-{topic}")).unwrap();
        let partitions = clients.topics().unwrap()[topic];
        let (mut last, mut n) = (0, 0);
        clients
            .read_to_end(&consumer, topic, &(0..partitions).collect::<Vec<_>>(), |r| {
                last = last.max(r.timestamp);
                n += 1;
                Ok(())
            })
            .unwrap();
        (last, n)
    }

    /// Seconds from the first input record consumed to the last output appended, and how
    /// many count and changelog records were written.
    fn word_count(&self, input: &str, threads: usize, guarantee: &str) -> (f64, usize) {
        let name = format!("bench-wc{threads}-{guarantee}");
        let (app, output) = (format!("{name}-{}", self.tag), format!("{name}-out-{}", self.tag));
        self.create(&output, 4, true);
        let mut config = self.config(&app);
        config.set("num.stream.threads", threads.to_string()).set("processing.guarantee", guarantee);
        let streams =
            Arc::new(KafkaStreams::connect(wordcount::topology_on(input, &output), config).unwrap());
        let first = Arc::new(AtomicI64::new(0));
        let watcher = {
            let (streams, first) = (streams.clone(), first.clone());
            std::thread::spawn(move || {
                while streams.processed_records() == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
                first.store(now_ms(), Ordering::SeqCst);
            })
        };
        self.runtime.block_on(streams.run(RunMode::UntilDrained)).unwrap();
        watcher.join().unwrap();
        let (last, n) = self.last_append(&output);
        let changelog =
            self.last_append(&format!("{app}-KSTREAM-AGGREGATE-STATE-STORE-0000000004-changelog")).1;
        ((last - first.load(Ordering::SeqCst)) as f64 / 1e3, n + changelog)
    }

    fn pipe(&self, input: &str) -> (f64, usize) {
        let output = format!("bench-pipe-out-{}", self.tag);
        self.create(&output, 4, true);
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("group.id", format!("bench-pipe-{}", self.tag))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("linger.ms", "5")
            .create()
            .unwrap();
        consumer.subscribe(&[input]).unwrap();
        let clients = KafkaClients::new(&self.config("bench-pipe")).unwrap();
        let ends = clients.plain_consumer("bench-pipe-ends").unwrap();
        let total: i64 =
            (0..4).map(|p| ends.fetch_watermarks(input, p, Duration::from_secs(10)).unwrap().1).sum();
        let (mut first, mut copied) = (0, 0i64);
        while copied < total {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    if first == 0 {
                        first = now_ms();
                    }
                    let mut record = BaseRecord::<[u8], [u8]>::to(&output);
                    if let Some(v) = m.payload() {
                        record = record.payload(v);
                    }
                    let mut record = Some(record);
                    while let Some(r) = record.take() {
                        if let Err((_, back)) = producer.send(r) {
                            producer.poll(Duration::from_millis(5));
                            record = Some(back);
                        }
                    }
                    producer.poll(Duration::ZERO);
                    copied += 1;
                }
                Some(Err(e)) => panic!("{e}"),
                None => {}
            }
        }
        producer.flush(Duration::from_secs(60)).unwrap();
        let (last, n) = self.last_append(&output);
        ((last - first) as f64 / 1e3, n)
    }
}

fn main() {
    let megabytes: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10);
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP")
        .expect("KAFKA_BOOTSTRAP: run under scripts/kafka-broker.sh run cargo bench ...");
    let bench = Bench {
        bootstrap,
        runtime: tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap(),
        tag: format!("{}-{}", std::process::id(), now_ms() % 100_000_000),
    };
    let lines = wordcount::synthetic_text(megabytes << 20);
    let words: usize = lines
        .iter()
        .map(|l| wordcount::words(l).iter().filter(|w| !w.is_empty() && *w != "the").count())
        .sum();
    let input = format!("bench-input-{}", bench.tag);
    bench.create(&input, 4, false);
    let clients = KafkaClients::new(&bench.config("bench-writer")).unwrap();
    let producer = clients.producer("bench-writer").unwrap();
    for (i, line) in lines.iter().enumerate() {
        producer.send(&input, None, None, Some(line.as_bytes()), 1_000 + i as i64, &Headers::new()).unwrap();
    }
    producer.flush().unwrap();
    println!("input: {} lines, {words} words, {megabytes} MB, 4 partitions", lines.len());
    let (pipe_s, pipe_n) = bench.pipe(&input);
    let pipe_rate = lines.len() as f64 / pipe_s;
    // Records the broker takes in or hands out: the pipe reads each line and writes it; word
    // count reads the lines, writes and reads back every word (the repartition topic), and
    // writes counts and their changelog.
    let pipe_io = 2.0 * pipe_n as f64 / pipe_s;
    println!(
        "bare rdkafka pipe (consume + produce, no processing): {pipe_s:.2} s, {pipe_rate:.0} lines/s, {pipe_io:.0} broker records/s"
    );
    for (threads, guarantee) in [(1, "at_least_once"), (2, "at_least_once"), (1, "exactly_once_v2")] {
        let (s, written) = bench.word_count(&input, threads, guarantee);
        let rate = lines.len() as f64 / s;
        let io = (lines.len() + 2 * words + written) as f64 / s;
        println!(
            "word count, {threads} thread(s), {guarantee}: {s:.2} s, {rate:.0} lines/s = {:.0} words/s ({:.1} % of the pipe's lines/s); {io:.0} broker records/s ({:.0} % of the pipe's)",
            words as f64 / s,
            100.0 * rate / pipe_rate,
            100.0 * io / pipe_io
        );
    }
}
