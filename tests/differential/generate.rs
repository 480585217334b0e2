//! Random inputs for the differential cases, from fixed seeds: several keys, out-of-order
//! timestamps, records late past any grace, tombstones, null keys and null values.

use serde_json::{json, Value};

/// What a topic's values are: `Long` values are JSON numbers (8 bytes big-endian on the
/// wire), `Str` values JSON strings (UTF-8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Values {
    Long,
    Str,
}

/// An input topic of a case.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Input {
    pub(crate) topic: &'static str,
    pub(crate) values: Values,
    /// How often a value is null, in percent (tombstones, for a table).
    pub(crate) null_values: u32,
}

/// The pseudo-topic of wall-clock advances: such an input moves the drivers' wall clock by
/// its `timestamp` milliseconds (Kafka's `advanceWallClockTime`) instead of piping a record.
pub(crate) const WALL_CLOCK: &str = "(wall clock)";

/// One input record, as both sides read it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct InputRecord {
    pub(crate) topic: &'static str,
    pub(crate) key: Option<String>,
    pub(crate) value: Value,
    pub(crate) timestamp: i64,
}

impl InputRecord {
    pub(crate) fn to_json(&self) -> Value {
        if self.is_wall_clock() {
            return json!({ "advance": self.timestamp });
        }
        json!({ "topic": self.topic, "key": self.key, "value": self.value, "timestamp": self.timestamp })
    }

    /// Whether this input advances the wall clock (by `timestamp` ms).
    pub(crate) fn is_wall_clock(&self) -> bool {
        self.topic == WALL_CLOCK
    }

    /// The key's bytes, as Kafka's `StringSerializer` writes them.
    pub(crate) fn key_bytes(&self) -> Option<Vec<u8>> {
        self.key.as_ref().map(|k| k.as_bytes().to_vec())
    }

    /// The value's bytes: a number as Kafka's `LongSerializer`, a string as UTF-8.
    pub(crate) fn value_bytes(&self) -> Option<Vec<u8>> {
        match &self.value {
            Value::Null => None,
            Value::Number(n) => Some(n.as_i64().expect("an integer").to_be_bytes().to_vec()),
            Value::String(s) => Some(s.as_bytes().to_vec()),
            other => panic!("no bytes for {other}"),
        }
    }
}

/// SplitMix64: small, fast, and the same sequence on every machine.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True `percent` times in a hundred.
    pub(crate) fn percent(&mut self, percent: u32) -> bool {
        self.below(100) < u64::from(percent)
    }
}

/// `count` records over `inputs` (an input of topic [`WALL_CLOCK`] stands for advances of
/// 0–2.5 s of the wall clock): keys `k0`..`k5` (3 % null), stream time moving forward by
/// 0–15 ms a record (1 % of records after a 200–500 ms jump), 15 % of records out of order by up to 120 ms and 2 % by 400 ms (late past
/// every window's grace), long values in -20..20 and string values `x0`..`x19`.
pub(crate) fn records(inputs: &[Input], seed: u64, count: usize) -> Vec<InputRecord> {
    let mut rng = Rng::new(seed);
    let mut time: i64 = 1_000;
    (0..count)
        .map(|_| {
            let input = inputs[rng.below(inputs.len() as u64) as usize];
            if input.topic == WALL_CLOCK {
                let advance = rng.below(2_500) as i64;
                return InputRecord { topic: WALL_CLOCK, key: None, value: Value::Null, timestamp: advance };
            }
            time += rng.below(16) as i64;
            if rng.percent(1) {
                // A quiet spell: stream time jumps past whole windows.
                time += 200 + rng.below(300) as i64;
            }
            let timestamp = match rng.below(100) {
                0..=1 => time - 400,
                2..=16 => time - rng.below(121) as i64,
                _ => time,
            }
            .max(0);
            let key = (!rng.percent(3)).then(|| format!("k{}", rng.below(6)));
            let value = if rng.percent(input.null_values) {
                Value::Null
            } else {
                match input.values {
                    Values::Long => json!(rng.below(41) as i64 - 20),
                    Values::Str => json!(format!("x{}", rng.below(20))),
                }
            };
            InputRecord { topic: input.topic, key, value, timestamp }
        })
        .collect()
}
