//! The metrics in Prometheus' text exposition format (version 0.0.4), and a small HTTP
//! endpoint serving them at `/metrics` (`--metrics-addr HOST:PORT` on the command line).
//!
//! Names as the JMX exporter's usual rules make them: `kafka_streams_` + group + `_` + name,
//! dashes as underscores (`kafka_streams_stream_thread_metrics_process_rate`); tags become
//! labels (`thread_id`). A text metric (Kafka's `Gauge<String>`: `state`, `version`) is a
//! gauge of 1 named `..._info` with its text in the label `value`; a text of several lines
//! (`topology-description`) is left out. Prometheus keeps the suffix `_count` for summaries
//! and histograms, so a gauge whose name ends in it (`active-buffer-count`) gets `_value`
//! appended; and counts time in seconds, so a nanosecond total (`blocked-time-ns-total`) is
//! `..._blocked_time_seconds_total`, in seconds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{Metric, MetricValue};

/// The exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn sanitize(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

fn escape_label(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value == f64::INFINITY {
        "+Inf".into()
    } else if value == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{value}")
    }
}

/// Renders `metrics` as Prometheus text: one `# HELP` and `# TYPE` per family (a name
/// across its tags), `-total` metrics as counters, the rest as gauges.
pub fn render(metrics: &[Metric]) -> String {
    // Families by name, each with its samples (labels, value), in the order first seen.
    let mut families: BTreeMap<String, (&str, &str, Vec<String>)> = BTreeMap::new();
    for m in metrics {
        let base = format!("kafka_streams_{}_{}", sanitize(m.name.group), sanitize(&m.name.name));
        let mut labels: Vec<String> =
            m.name.tags.iter().map(|(k, v)| format!("{}=\"{}\"", sanitize(k), escape_label(v))).collect();
        let (family, kind, value) = match &m.value {
            MetricValue::Number(n) => {
                let kind = if m.name.name.ends_with("-total") { "counter" } else { "gauge" };
                let base = if base.ends_with("_count") { format!("{base}_value") } else { base };
                // Prometheus counts time in seconds and refuses abbreviated units: a
                // nanosecond total (`blocked-time-ns-total`) becomes `..._seconds_total`.
                match base.strip_suffix("_ns_total") {
                    Some(stem) => (format!("{stem}_seconds_total"), kind, number(n / 1e9)),
                    None => (base, kind, number(*n)),
                }
            }
            // The topology's description: a label is no place for a page of text.
            MetricValue::Text(text) if text.contains('\n') => continue,
            MetricValue::Text(text) => {
                labels.push(format!("value=\"{}\"", escape_label(text)));
                (format!("{base}_info"), "gauge", "1".into())
            }
        };
        let sample = format!("{family}{{{}}} {value}", labels.join(","));
        families.entry(family).or_insert((kind, &m.description, Vec::new())).2.push(sample);
    }
    let mut out = String::new();
    for (name, (kind, help, samples)) in &families {
        let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for s in samples {
            let _ = writeln!(out, "{s}");
        }
    }
    out
}

/// The endpoint: answers `GET /metrics` with [`render`] of what `source` returns, on a
/// thread of its own, until dropped.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl MetricsServer {
    /// Listens on `addr` (port 0: any free port; see [`local_addr`](Self::local_addr)).
    pub fn start(
        addr: &str,
        source: impl Fn() -> Vec<Metric> + Send + Sync + 'static,
    ) -> std::io::Result<MetricsServer> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new().name("metrics-http".into()).spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    if let Err(e) = answer(stream, &source) {
                        tracing::debug!(error = %e, "metrics endpoint: a request failed");
                    }
                }
            }
        })?;
        Ok(MetricsServer { addr, stop })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread, which then sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// Reads one request's head and answers it; the connection closes after.
fn answer(mut stream: TcpStream, source: &dyn Fn() -> Vec<Metric>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut request_line = head.lines().next().unwrap_or("").split_whitespace();
    let (method, path) = (request_line.next().unwrap_or(""), request_line.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => ("200 OK", CONTENT_TYPE, render(&source())),
        ("GET" | "HEAD", _) => {
            ("404 Not Found", "text/plain", "not found: the metrics are at /metrics\n".into())
        }
        _ => ("405 Method Not Allowed", "text/plain", "only GET\n".into()),
    };
    let body = if method == "HEAD" { String::new() } else { body };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::MetricName;

    fn metric(group: &'static str, name: &str, tags: &[(&'static str, &str)], value: MetricValue) -> Metric {
        Metric {
            name: MetricName {
                group,
                name: name.into(),
                tags: tags.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            },
            description: format!("the {name}"),
            value,
        }
    }

    #[test]
    fn families_group_their_tags_and_texts_become_info_labels() {
        let text = render(&[
            metric(
                "stream-thread-metrics",
                "process-total",
                &[("thread-id", "t-1")],
                MetricValue::Number(3.0),
            ),
            metric(
                "stream-thread-metrics",
                "process-total",
                &[("thread-id", "t-\"2\"")],
                MetricValue::Number(4.0),
            ),
            metric(
                "stream-thread-metrics",
                "poll-latency-avg",
                &[("thread-id", "t-1")],
                MetricValue::Number(f64::NAN),
            ),
            metric("stream-metrics", "state", &[("client-id", "c")], MetricValue::Text("RUNNING".into())),
        ]);
        assert_eq!(
            text,
            "# HELP kafka_streams_stream_metrics_state_info the state\n\
             # TYPE kafka_streams_stream_metrics_state_info gauge\n\
             kafka_streams_stream_metrics_state_info{client_id=\"c\",value=\"RUNNING\"} 1\n\
             # HELP kafka_streams_stream_thread_metrics_poll_latency_avg the poll-latency-avg\n\
             # TYPE kafka_streams_stream_thread_metrics_poll_latency_avg gauge\n\
             kafka_streams_stream_thread_metrics_poll_latency_avg{thread_id=\"t-1\"} NaN\n\
             # HELP kafka_streams_stream_thread_metrics_process_total the process-total\n\
             # TYPE kafka_streams_stream_thread_metrics_process_total counter\n\
             kafka_streams_stream_thread_metrics_process_total{thread_id=\"t-1\"} 3\n\
             kafka_streams_stream_thread_metrics_process_total{thread_id=\"t-\\\"2\\\"\"} 4\n"
        );
    }

    #[test]
    fn a_nanosecond_total_is_counted_in_seconds() {
        let text = render(&[metric(
            "stream-thread-metrics",
            "blocked-time-ns-total",
            &[("thread-id", "t-1")],
            MetricValue::Number(2.5e9),
        )]);
        assert!(
            text.ends_with(
                "kafka_streams_stream_thread_metrics_blocked_time_seconds_total{thread_id=\"t-1\"} 2.5\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("# TYPE kafka_streams_stream_thread_metrics_blocked_time_seconds_total counter")
        );
    }

    #[test]
    fn the_endpoint_answers_metrics_and_refuses_other_paths() {
        let server = MetricsServer::start("127.0.0.1:0", || {
            vec![metric(
                "stream-metrics",
                "alive-stream-threads",
                &[("client-id", "c")],
                MetricValue::Number(2.0),
            )]
        })
        .unwrap();
        let get = |path: &str| {
            let mut s = TcpStream::connect(server.local_addr()).unwrap();
            write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut response = String::new();
            s.read_to_string(&mut response).unwrap();
            response
        };
        let ok = get("/metrics");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains(&format!("Content-Type: {CONTENT_TYPE}")));
        assert!(
            ok.ends_with("kafka_streams_stream_metrics_alive_stream_threads{client_id=\"c\"} 2\n"),
            "{ok}"
        );
        assert!(get("/").starts_with("HTTP/1.1 404"));
    }
}
