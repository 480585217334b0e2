//! `wordcount_instance` processes, for the tests that run several instances of one
//! application in a group (and kill, freeze or restart what is under them).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::kafka::bootstrap;

/// The `wordcount_instance` binary beside the running test binary (`target/<profile>/`).
fn instance_exe() -> PathBuf {
    let test = std::env::current_exe().expect("the test binary");
    let profile = test.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps");
    profile.join("wordcount_instance")
}

/// A `wordcount_instance` process and the lines it has written to stderr.
pub struct Instance {
    /// The process.
    pub child: Child,
    /// Every line it has written to stderr so far.
    pub log: Arc<Mutex<Vec<String>>>,
    stdout: Option<std::process::ChildStdout>,
}

impl Instance {
    /// Starts an instance of `app` counting the words of `input` into `output`, with
    /// `KEY=VALUE` settings.
    pub fn start(app: &str, input: &str, output: &str, settings: &[&str]) -> Instance {
        Self::start_with_env(app, input, output, settings, &[])
    }

    /// As [`Instance::start`], with environment variables (`PANIC_ONCE_ON`, `REPLACE_THREAD`).
    pub fn start_with_env(
        app: &str,
        input: &str,
        output: &str,
        settings: &[&str],
        env: &[(&str, &str)],
    ) -> Instance {
        // A quick failover under the classic protocol; the consumer protocol (KIP-848) has
        // its session timeout on the broker.
        let classic = !settings.contains(&"consumer.group.protocol=consumer");
        let quick: &[&str] = if classic {
            &["consumer.session.timeout.ms=6000", "consumer.heartbeat.interval.ms=500"]
        } else {
            &[]
        };
        let mut child = Command::new(instance_exe())
            .args([app, input, output])
            .args(quick)
            .args(settings)
            .env("KAFKA_BOOTSTRAP", bootstrap())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start an instance");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        // Read to the end whatever it writes (a line that is not UTF-8 included): a reader that
        // stopped would leave the pipe full and the instance blocked on its next log line.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let text = String::from_utf8_lossy(&line).trim_end_matches(['\n', '\r']).to_string();
                sink.lock().unwrap().push(text);
                line.clear();
            }
        });
        let stdout = child.stdout.take();
        Instance { child, log, stdout }
    }

    /// Kills it (SIGKILL): nothing is committed or left cleanly.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Every thread's stack now (see [`stacks_of`]).
    pub fn stacks(&self) -> String {
        stacks_of(self.child.id())
    }

    /// Whether it has logged a line containing `text`.
    pub fn logged(&self, text: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(text))
    }

    /// Stops it with SIGTERM (it commits and leaves the group) and returns how many records
    /// it processed.
    pub fn terminate(mut self) -> u64 {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "instance failed: {:?}", self.log.lock().unwrap());
        let mut out = String::new();
        std::io::Read::read_to_string(&mut self.stdout.take().unwrap(), &mut out).unwrap();
        out.trim().strip_prefix("processed ").unwrap().parse().unwrap()
    }
}

/// A test that fails (panics) leaves no instance running behind it.
impl Drop for Instance {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Every thread's stack of process `pid` now (`gdb -batch`), to see where a hung instance
/// waits; a line saying why not when they cannot be had (no `gdb`, the process gone).
pub fn stacks_of(pid: u32) -> String {
    let pid = pid.to_string();
    match Command::new("gdb").args(["-p", &pid, "-batch", "-ex", "thread apply all bt"]).output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => format!("no stacks: gdb: {}", String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => format!("no stacks: gdb: {e}"),
    }
}

/// Waits until `done`, failing the test after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < timeout, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
