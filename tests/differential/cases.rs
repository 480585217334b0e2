//! The differential cases: each topology written with our builder, under the name its Java
//! twin has in `tools/kafka-reference/Differential.java`.

use std::time::Duration;

use streams_runtime::prelude::*;
use streams_runtime::processor::{
    Cancellable, FixedKeyContext, FixedKeyProcessor, FixedKeyRecord, InitContext, KeyValueStoreRef,
    Processor, ProcessorContext, PunctuationType, SessionStoreBuilder, SessionStoreRef, Stores,
    ValueTransformerWithKey, WindowStoreBuilder, WindowStoreRef,
};

use crate::generate::{Input, Values, WALL_CLOCK};

/// `Tagging` of `Differential.java`: a table's value tagged with how many times its key was
/// transformed (old values included), counted in a store.
#[derive(Default)]
struct Tagging {
    calls: Option<KeyValueStoreRef<String, i64>>,
}

impl ValueTransformerWithKey<String, i64> for Tagging {
    type VOut = String;

    fn init(&mut self, ctx: &mut InitContext<'_>) {
        self.calls = Some(ctx.key_value_store(&Stores::key_value::<String, i64>("calls")));
    }

    fn transform(&mut self, key: &String, value: Option<&i64>) -> Option<String> {
        let calls = self.calls.as_ref().expect("initialized");
        let n = calls.get(key).unwrap_or(0) + 1;
        calls.put(key.clone(), n);
        value.map(|v| format!("{v}#{n}"))
    }
}

/// A value's key `r<v mod 3>`, then `all`, then the first again: one record updating a key
/// twice with another in between.
fn repeated_key(v: i64) -> Vec<(String, i64)> {
    let r = format!("r{}", v.rem_euclid(3));
    vec![(r.clone(), v), ("all".to_string(), v), (r, v)]
}

/// How an output key's bytes read, for messages.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Keys {
    Plain,
    /// `key ++ start`; the window is `size` long.
    TimeWindowed(i64),
    /// `key ++ end ++ start`.
    Session,
}

pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) inputs: &'static [Input],
    pub(crate) topology: fn() -> Topology,
    pub(crate) keys: Keys,
    pub(crate) values: Values,
}

const fn input(topic: &'static str, values: Values, null_values: u32) -> Input {
    Input { topic, values, null_values }
}

/// Longs with null values: read as `i64` they are dropped at the source, as Kafka's
/// non-windowed aggregations drop them.
const LONGS: &[Input] = &[input("in", Values::Long, 4)];
/// Longs without null values, for windowed aggregations, which Kafka gives null values to:
/// the `_nullable` cases read those as `Option<i64>`.
const WINDOWED: &[Input] = &[input("in", Values::Long, 0)];
/// Longs, and wall-clock advances a third of the time.
const WALL_CLOCK_LONGS: &[Input] =
    &[input("in", Values::Long, 4), input("in", Values::Long, 4), input(WALL_CLOCK, Values::Long, 0)];
const TABLE: &[Input] = &[input("table", Values::Long, 12)];
const STREAM_TABLE: &[Input] = &[input("left", Values::Str, 4), input("right", Values::Str, 12)];
const STREAMS: &[Input] = &[input("left", Values::Str, 4), input("right", Values::Str, 4)];
const STREAMS_WITHOUT_NULL_VALUES: &[Input] =
    &[input("left", Values::Str, 0), input("right", Values::Str, 0)];
/// Strings on `left` alone (a stream joined with itself).
const LEFT_STRINGS: &[Input] = &[input("left", Values::Str, 4)];
const TABLES: &[Input] = &[input("left", Values::Str, 12), input("right", Values::Str, 12)];
/// Longs on `left`, strings on `right` (cogrouped).
const LONGS_AND_STRINGS: &[Input] = &[input("left", Values::Long, 4), input("right", Values::Str, 4)];

/// The history retention of the versioned cases' stores.
const HISTORY: Duration = Duration::from_millis(100);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn show(v: Option<String>) -> String {
    v.unwrap_or_else(|| "null".to_string())
}

fn longs(b: &StreamsBuilder) -> KStream<String, i64> {
    b.stream::<String, i64>("in")
}

fn nullable(b: &StreamsBuilder) -> KStream<String, Option<i64>> {
    b.stream::<String, Option<i64>>("in")
}

macro_rules! case {
    // built with `topology.optimization=all`, as the Java twin
    (optimized $name:literal, $inputs:expr, $keys:expr, $values:ident, |$b:ident| $body:expr) => {
        Case {
            name: $name,
            inputs: $inputs,
            topology: || {
                let $b = StreamsBuilder::new();
                $body;
                $b.build_optimized(Optimizations::ALL)
            },
            keys: $keys,
            values: Values::$values,
        }
    };
    ($name:literal, $inputs:expr, $keys:expr, $values:ident, |$b:ident| $body:expr) => {
        Case {
            name: $name,
            inputs: $inputs,
            topology: || {
                let $b = StreamsBuilder::new();
                $body;
                $b.build()
            },
            keys: $keys,
            values: Values::$values,
        }
    };
}

/// Keys and values read as `Option<String>`: the join sees null keys (which advance its stream
/// time, and which a left or outer join joins with `None` at once, KIP-962) and null values.
fn stream_stream(b: &StreamsBuilder, kind: &str, windows: JoinWindows) {
    type Nullable = Option<String>;
    let (l, r) = (b.stream::<Nullable, Nullable>("left"), b.stream::<Nullable, Nullable>("right"));
    match kind {
        "inner" => l.join_windowed(r, windows, |a, c| format!("{}+{}", show(a), show(c))).to("out"),
        "left" => {
            l.left_join_windowed(r, windows, |a, c| format!("{}+{}", show(a), show(c.flatten()))).to("out")
        }
        _ => l
            .outer_join_windowed(r, windows, |a, c| format!("{}+{}", show(a.flatten()), show(c.flatten())))
            .to("out"),
    }
}

/// `Differential.fk`: `x<n>` names `k<n % 7>` (`k6` has no right row), none when n % 8 == 7.
fn fk(v: &String) -> Option<String> {
    let n: u32 = v[1..].parse().expect("x<n>");
    (n % 8 != 7).then(|| format!("k{}", n % 7))
}

fn table_table(b: &StreamsBuilder, kind: &str, filtered: bool) {
    let (l, r) = (b.table::<String, String>("left"), b.table::<String, String>("right"));
    let (l, r) = if filtered {
        (l.filter(|_, v| !v.ends_with('3')), r.map_values(|v| v.to_uppercase()).filter(|_, v| v.len() > 2))
    } else {
        (l, r)
    };
    match kind {
        "inner" => l.join(r, |a, c| format!("{a}+{c}")).to_stream().to("out"),
        "left" => l.left_join(r, |a, c| format!("{a}+{}", show(c))).to_stream().to("out"),
        _ => l.outer_join(r, |a, c| format!("{}+{}", show(a), show(c))).to_stream().to("out"),
    }
}

/// The Processor API: forwards a key's value when it changed, as the change since the last
/// one; a negative value also deletes the key. Every 100 ms of stream time it forwards the
/// sum of the values it holds under the key `sum`, stamped with the punctuation's time.
struct LastValue {
    last: Option<KeyValueStoreRef<String, i64>>,
}

impl Processor<Option<String>, Option<i64>> for LastValue {
    type KOut = String;
    type VOut = i64;

    fn init(&mut self, ctx: &mut InitContext<'_>) {
        self.last = Some(ctx.key_value_store(&Stores::key_value::<String, i64>("last")));
        ctx.schedule(ms(100), PunctuationType::StreamTime);
    }

    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, String, i64>,
        record: Record<Option<String>, Option<i64>>,
    ) {
        let (Some(key), Some(value)) = (record.key.clone(), record.value) else { return };
        let store = self.last.as_ref().unwrap();
        let old = store.get(&key);
        if old != Some(value) {
            store.put(key.clone(), value);
            ctx.forward(record.with(key.clone(), value - old.unwrap_or(0)));
        }
        if value < 0 {
            store.delete(&key);
        }
    }

    fn punctuate(&mut self, ctx: &mut ProcessorContext<'_, String, i64>, _: &Cancellable, now: i64) {
        let sum = self.last.as_ref().unwrap().all().into_iter().map(|(_, v)| v).sum();
        ctx.forward(Record::new("sum".to_string(), sum, now));
    }
}

/// The Processor API by wall clock: counts each key's records in a store and, every second
/// of wall-clock time, forwards under the key `total` how many records it counted, stamped
/// with the wall clock; cancels that after five punctuations.
struct WallClockTotal {
    counts: Option<KeyValueStoreRef<String, i64>>,
    punctuations: u32,
}

impl Processor<Option<String>, Option<i64>> for WallClockTotal {
    type KOut = String;
    type VOut = i64;

    fn init(&mut self, ctx: &mut InitContext<'_>) {
        self.counts = Some(ctx.key_value_store(&Stores::key_value::<String, i64>("counts")));
        ctx.schedule(ms(1_000), PunctuationType::WallClockTime);
    }

    fn process(
        &mut self,
        _: &mut ProcessorContext<'_, String, i64>,
        record: Record<Option<String>, Option<i64>>,
    ) {
        if let Some(key) = record.key {
            let counts = self.counts.as_ref().unwrap();
            counts.put(key.clone(), counts.get(&key).unwrap_or(0) + 1);
        }
    }

    fn punctuate(&mut self, ctx: &mut ProcessorContext<'_, String, i64>, schedule: &Cancellable, now: i64) {
        let total = self.counts.as_ref().unwrap().all().into_iter().map(|(_, n)| n).sum();
        ctx.forward(Record::new("total".to_string(), total, now));
        self.punctuations += 1;
        if self.punctuations == 5 {
            schedule.cancel();
        }
    }
}

/// The Processor API with a window store (100 ms windows kept 300 ms): adds each value to
/// its key's window (a 0 deletes the window), and forwards the sum over the key's last three
/// windows. Records too late for the retention are dropped by the store.
struct WindowSums {
    sums: Option<WindowStoreRef<String, i64>>,
}

fn window_sums_store() -> WindowStoreBuilder<String, i64> {
    Stores::window::<String, i64>("sums", ms(300), ms(100))
}

impl Processor<Option<String>, Option<i64>> for WindowSums {
    type KOut = String;
    type VOut = i64;

    fn init(&mut self, ctx: &mut InitContext<'_>) {
        self.sums = Some(ctx.window_store(&window_sums_store()));
    }

    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, String, i64>,
        record: Record<Option<String>, Option<i64>>,
    ) {
        let (Some(key), Some(value)) = (record.key.clone(), record.value) else { return };
        let sums = self.sums.as_ref().unwrap();
        let start = record.timestamp - record.timestamp % 100;
        if value == 0 {
            sums.put(key.clone(), None, start);
        } else {
            sums.put(key.clone(), Some(sums.fetch(&key, start).unwrap_or(0) + value), start);
        }
        let total = sums.fetch_range(&key, start - 200, start).into_iter().map(|(_, v)| v).sum();
        ctx.forward(record.with(key, total));
    }
}

/// `SessionSums` of `Differential.java`: a session store (50 ms inactivity, kept 300 ms);
/// each value merges its key's sessions within 50 ms and forwards the merged sum * 100 + the
/// key's live sessions; a 0 removes those sessions instead.
struct SessionSums {
    sessions: Option<SessionStoreRef<String, i64>>,
}

fn session_sums_store() -> SessionStoreBuilder<String, i64> {
    Stores::session::<String, i64>("sessions", ms(300))
}

impl Processor<Option<String>, Option<i64>> for SessionSums {
    type KOut = String;
    type VOut = i64;

    fn init(&mut self, ctx: &mut InitContext<'_>) {
        self.sessions = Some(ctx.session_store(&session_sums_store()));
    }

    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, String, i64>,
        record: Record<Option<String>, Option<i64>>,
    ) {
        let (Some(key), Some(value)) = (record.key.clone(), record.value) else { return };
        let sessions = self.sessions.as_ref().unwrap();
        let t = record.timestamp;
        let (mut start, mut end, mut sum) = (t, t, value);
        for (window, v) in sessions.find_sessions(&key, t - 50, t + 50) {
            start = start.min(window.start);
            end = end.max(window.end);
            sum += v;
            sessions.remove(&key, window);
        }
        if value != 0 {
            sessions.put(key.clone(), SessionWindow { start, end }, Some(sum));
        }
        let live = sessions.fetch(&key).len() as i64;
        ctx.forward(record.with(key, sum * 100 + live));
    }
}

/// The Processor API re-keying: a key from the value's remainder by 3 (null values dropped).
struct Rekey;

impl Processor<Option<String>, Option<i64>> for Rekey {
    type KOut = String;
    type VOut = i64;

    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, String, i64>,
        record: Record<Option<String>, Option<i64>>,
    ) {
        if let Some(v) = record.value {
            ctx.forward(record.with(group3(v), v));
        }
    }
}

/// `Route` of `Differential.java`: even values to the child `evens`, odd ones to `odds`, and
/// values above 10 (negated) to every child too.
struct Route;

impl Processor<Option<String>, Option<i64>> for Route {
    type KOut = Option<String>;
    type VOut = i64;

    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, Option<String>, i64>,
        record: Record<Option<String>, Option<i64>>,
    ) {
        let Some(v) = record.value else { return };
        let key = record.key.clone();
        let child = if v.rem_euclid(2) == 0 { "evens" } else { "odds" };
        ctx.forward_to(child, record.clone().with(key.clone(), v));
        if v > 10 {
            ctx.forward(record.with(key, -v));
        }
    }
}

/// The Processor API, keys fixed: doubles each value, dropping null keys and null values.
struct Double;

impl FixedKeyProcessor<Option<String>, Option<i64>> for Double {
    type VOut = i64;

    fn process(
        &mut self,
        ctx: &mut FixedKeyContext<'_, Option<String>, i64>,
        record: FixedKeyRecord<Option<String>, Option<i64>>,
    ) {
        if let (Some(_), Some(v)) = (record.key(), record.value) {
            ctx.forward(record.with_value(v * 2));
        }
    }
}

fn group3(v: i64) -> String {
    format!("g{}", v.rem_euclid(3))
}

/// Some cases again, written with `topology!`: the macro's expansion is judged too.
fn macro_cases() -> Vec<Case> {
    let case = |name, inputs, topology, keys, values| Case { name, inputs, topology, keys, values };
    vec![
        case(
            "session_count_grace_macro",
            WINDOWED,
            || {
                topology! {
                    stream::<String, i64>("in") |> group_by_key |> session(40ms, grace = 30ms) |> count |> to_stream |> to("out");
                }
            },
            Keys::Session,
            Values::Long,
        ),
        case(
            "hopping_emit_on_close_macro",
            WINDOWED,
            || {
                topology! {
                    stream::<String, i64>("in")
                        |> group_by_key
                        |> window(100ms, 50ms, grace = 20ms)
                        |> emit_on_close
                        |> count
                        |> to_stream
                        |> to("out");
                }
            },
            Keys::TimeWindowed(100),
            Values::Long,
        ),
        case(
            "sliding_reduce_max_macro",
            WINDOWED,
            || {
                topology! {
                    stream::<String, i64>("in") |> group_by_key |> sliding(40ms, grace = 20ms) |> reduce(i64::max) |> to_stream |> to("out");
                }
            },
            Keys::TimeWindowed(40),
            Values::Long,
        ),
        case(
            "stream_stream_outer_join_macro",
            STREAMS,
            || {
                topology! {
                    let l = stream::<Option<String>, Option<String>>("left");
                    let r = stream::<Option<String>, Option<String>>("right");
                    l |> outer_join(r, within(50ms, grace = 20ms), |a, c| format!("{}+{}", show(a.flatten()), show(c.flatten())))
                        |> to("out");
                }
            },
            Keys::Plain,
            Values::Str,
        ),
        case(
            "table_table_left_join_macro",
            TABLES,
            || {
                topology! {
                    let l = table::<String, String>("left");
                    let r = table::<String, String>("right");
                    l |> left_join(r, |a, c| format!("{a}+{}", show(c))) |> to_stream |> to("out");
                }
            },
            Keys::Plain,
            Values::Str,
        ),
        case(
            "stream_versioned_table_join_macro",
            STREAM_TABLE,
            || {
                topology! {
                    let t = table::<String, String>("right", versioned = 100ms, store = "versioned");
                    stream::<String, String>("left") |> join(t, |l, r| format!("{l}+{r}")) |> to("out");
                }
            },
            Keys::Plain,
            Values::Str,
        ),
        case(
            "stream_versioned_table_join_grace_macro",
            STREAM_TABLE,
            || {
                topology! {
                    let t = table::<String, String>("right", versioned = 100ms, store = "versioned");
                    stream::<String, String>("left") |> join(t, |l, r| format!("{l}+{r}"), grace = 50ms) |> to("out");
                }
            },
            Keys::Plain,
            Values::Str,
        ),
        case(
            "table_group_by_reduce_macro",
            TABLE,
            || {
                topology! {
                    table::<String, i64>("table")
                        |> group_by(|_, v| (group3(*v), *v))
                        |> reduce(|a, v| a + v, |a, v| a - v)
                        |> to_stream
                        |> to("out");
                }
            },
            Keys::Plain,
            Values::Long,
        ),
    ]
}

pub(crate) fn all() -> Vec<Case> {
    let mut cases = builder_cases();
    cases.extend(macro_cases());
    cases
}

fn builder_cases() -> Vec<Case> {
    use Keys::*;
    vec![
        // null keys pass through stateless operators: `Option<String>` sees them
        case!("filter_map_values", LONGS, Plain, Long, |b| b
            .stream::<Option<String>, i64>("in")
            .filter(|_, v| *v > 0)
            .map_values(|v| v * 2)
            .to("out")),
        // stream aggregations
        case!("count", LONGS, Plain, Long, |b| longs(&b).group_by_key().count().to_stream().to("out")),
        case!("reduce_max", LONGS, Plain, Long, |b| longs(&b)
            .group_by_key()
            .reduce(i64::max)
            .to_stream()
            .to("out")),
        case!("aggregate_sum", LONGS, Plain, Long, |b| longs(&b)
            .group_by_key()
            .aggregate(|| 0, |_, v, a| a + v)
            .to_stream()
            .to("out")),
        // `Option<i64>`: the null values travel through the repartition topic, as in Kafka
        case!("group_by_count", LONGS, Plain, Long, |b| nullable(&b)
            .group_by(|k, _| format!("g{}", k.as_bytes()[k.len() - 1] % 2))
            .count()
            .to_stream()
            .to("out")),
        case!("group_by_reduce_max", LONGS, Plain, Long, |b| nullable(&b)
            .group_by(|k, _| format!("g{}", k.as_bytes()[k.len() - 1] % 3))
            .reduce(|a, v| a.max(v))
            .to_stream()
            .to("out")),
        // a key from the value: null keys and values get a group (`Option` codecs see them),
        // then the aggregation drops the null values
        case!("group_by_aggregate_sum", LONGS, Plain, Long, |b| b
            .stream::<Option<String>, Option<i64>>("in")
            .group_by(|_, v| v.map_or("none".to_string(), |v| format!("g{}", v.rem_euclid(4))))
            .aggregate(|| 0, |_, v, a| a + v.unwrap_or(0))
            .to_stream()
            .to("out")),
        // time windows
        case!("tumbling_count", WINDOWED, TimeWindowed(100), Long, |b| longs(&b)
            .group_by_key()
            .window(TimeWindows::of(ms(100)))
            .count()
            .to_stream()
            .to("out")),
        case!("tumbling_count_grace", WINDOWED, TimeWindowed(100), Long, |b| longs(&b)
            .group_by_key()
            .window(TimeWindows::of(ms(100)).grace(ms(50)))
            .count()
            .to_stream()
            .to("out")),
        case!("hopping_reduce_max", WINDOWED, TimeWindowed(100), Long, |b| longs(&b)
            .group_by_key()
            .window(TimeWindows::of(ms(100)).advance_by(ms(30)).grace(ms(20)))
            .reduce(i64::max)
            .to_stream()
            .to("out")),
        case!("hopping_aggregate_sum", WINDOWED, TimeWindowed(100), Long, |b| longs(&b)
            .group_by_key()
            .window(TimeWindows::of(ms(100)).advance_by(ms(50)))
            .aggregate(|| 0, |_, v, a| a + v)
            .to_stream()
            .to("out")),
        case!("tumbling_suppress", WINDOWED, TimeWindowed(100), Long, |b| longs(&b)
            .group_by_key()
            .window(TimeWindows::of(ms(100)).grace(ms(20)))
            .suppress_until_close()
            .count()
            .to_stream()
            .to("out")),
        case!("hopping_suppress", WINDOWED, TimeWindowed(100), Long, |b| longs(&b)
            .group_by_key()
            .window(TimeWindows::of(ms(100)).advance_by(ms(50)).grace(ms(20)))
            .suppress_until_close()
            .count()
            .to_stream()
            .to("out")),
        case!("hopping_emit_on_close", WINDOWED, TimeWindowed(100), Long, |b| longs(&b)
            .group_by_key()
            .window(TimeWindows::of(ms(100)).advance_by(ms(50)).grace(ms(20)))
            .emit_on_close()
            .count()
            .to_stream()
            .to("out")),
        // sliding windows
        case!("sliding_count", WINDOWED, TimeWindowed(50), Long, |b| longs(&b)
            .group_by_key()
            .sliding(SlidingWindows::with_difference(ms(50)))
            .count()
            .to_stream()
            .to("out")),
        case!("sliding_count_grace", WINDOWED, TimeWindowed(50), Long, |b| longs(&b)
            .group_by_key()
            .sliding(SlidingWindows::with_difference(ms(50)).grace(ms(30)))
            .count()
            .to_stream()
            .to("out")),
        case!("sliding_reduce_max", WINDOWED, TimeWindowed(40), Long, |b| longs(&b)
            .group_by_key()
            .sliding(SlidingWindows::with_difference(ms(40)).grace(ms(20)))
            .reduce(i64::max)
            .to_stream()
            .to("out")),
        case!("sliding_aggregate_sum", WINDOWED, TimeWindowed(60), Long, |b| longs(&b)
            .group_by_key()
            .sliding(SlidingWindows::with_difference(ms(60)).grace(ms(100)))
            .aggregate(|| 0, |_, v, a| a + v)
            .to_stream()
            .to("out")),
        // session windows
        case!("session_count", WINDOWED, Session, Long, |b| longs(&b)
            .group_by_key()
            .session(SessionWindows::with_inactivity_gap(ms(40)))
            .count()
            .to_stream()
            .to("out")),
        case!("session_count_grace", WINDOWED, Session, Long, |b| longs(&b)
            .group_by_key()
            .session(SessionWindows::with_inactivity_gap(ms(40)).grace(ms(30)))
            .count()
            .to_stream()
            .to("out")),
        case!("session_reduce_max", WINDOWED, Session, Long, |b| longs(&b)
            .group_by_key()
            .session(SessionWindows::with_inactivity_gap(ms(30)).grace(ms(10)))
            .reduce(i64::max)
            .to_stream()
            .to("out")),
        case!("session_aggregate_sum", WINDOWED, Session, Long, |b| longs(&b)
            .group_by_key()
            .session(SessionWindows::with_inactivity_gap(ms(30)).grace(ms(20)))
            .aggregate(|| 0, |_, v, a| a + v, |_, a, c| a + c)
            .to_stream()
            .to("out")),
        // null values: `Option<i64>` sees them
        case!("count_nullable", LONGS, Plain, Long, |b| nullable(&b)
            .group_by_key()
            .count()
            .to_stream()
            .to("out")),
        case!("tumbling_count_nullable", LONGS, TimeWindowed(100), Long, |b| nullable(&b)
            .group_by_key()
            .window(TimeWindows::of(ms(100)))
            .count()
            .to_stream()
            .to("out")),
        case!("hopping_aggregate_sum_nullable", LONGS, TimeWindowed(100), Long, |b| nullable(&b)
            .group_by_key()
            .window(TimeWindows::of(ms(100)).advance_by(ms(50)).grace(ms(10)))
            .aggregate(|| 0, |_, v, a| a + v.unwrap_or(0))
            .to_stream()
            .to("out")),
        case!("sliding_count_nullable", LONGS, TimeWindowed(50), Long, |b| nullable(&b)
            .group_by_key()
            .sliding(SlidingWindows::with_difference(ms(50)).grace(ms(30)))
            .count()
            .to_stream()
            .to("out")),
        case!("session_count_nullable", LONGS, Session, Long, |b| nullable(&b)
            .group_by_key()
            .session(SessionWindows::with_inactivity_gap(ms(40)).grace(ms(30)))
            .count()
            .to_stream()
            .to("out")),
        // stream-table and stream-globaltable joins
        case!("stream_table_join", STREAM_TABLE, Plain, Str, |b| {
            let t = b.table::<String, String>("right");
            b.stream::<String, String>("left").join(t, |l, r| format!("{l}+{r}")).to("out")
        }),
        // a left join keeps a null key (KIP-962): `Option<String>` keys see it
        case!("stream_table_left_join", STREAM_TABLE, Plain, Str, |b| {
            let t = b.table::<Option<String>, String>("right");
            b.stream::<Option<String>, String>("left")
                .left_join(t, |l, r| format!("{l}+{}", show(r)))
                .to("out")
        }),
        case!("stream_global_join", STREAM_TABLE, Plain, Str, |b| {
            let t = b.global_table::<String, String>("right");
            b.stream::<String, String>("left")
                .join_global(t, |k, _| k.clone(), |l, r| format!("{l}+{r}"))
                .to("out")
        }),
        case!("stream_global_left_join", STREAM_TABLE, Plain, Str, |b| {
            let t = b.global_table::<Option<String>, String>("right");
            b.stream::<Option<String>, String>("left")
                .left_join_global(t, |k, _| k.clone(), |l, r| format!("{l}+{}", show(r)))
                .to("out")
        }),
        // stream-stream joins
        case!("stream_stream_join", STREAMS, Plain, Str, |b| stream_stream(
            &b,
            "inner",
            JoinWindows::within(ms(50))
        )),
        // `String` keys and values cannot hold null: such records are dropped at the source
        case!("stream_stream_join_string_keys", STREAMS, Plain, Str, |b| b
            .stream::<String, String>("left")
            .join_windowed(
                b.stream::<String, String>("right"),
                JoinWindows::within(ms(50)).grace(ms(10)),
                |a, c| { format!("{a}+{c}") }
            )
            .to("out")),
        case!("stream_stream_join_grace", STREAMS, Plain, Str, |b| stream_stream(
            &b,
            "inner",
            JoinWindows::within(ms(50)).grace(ms(30))
        )),
        case!("stream_stream_left_join", STREAMS, Plain, Str, |b| stream_stream(
            &b,
            "left",
            JoinWindows::within(ms(50)).grace(ms(20))
        )),
        case!("stream_stream_outer_join", STREAMS, Plain, Str, |b| stream_stream(
            &b,
            "outer",
            JoinWindows::within(ms(50)).grace(ms(20))
        )),
        case!("stream_stream_left_join_no_grace", STREAMS, Plain, Str, |b| stream_stream(
            &b,
            "left",
            JoinWindows::within(ms(30))
        )),
        case!("stream_stream_join_asymmetric", STREAMS, Plain, Str, |b| stream_stream(
            &b,
            "inner",
            JoinWindows::within(ms(40)).grace(ms(20)).after(ms(10))
        )),
        case!("stream_stream_left_join_asymmetric", STREAMS, Plain, Str, |b| stream_stream(
            &b,
            "left",
            JoinWindows::within(ms(40)).grace(ms(20)).before(ms(5))
        )),
        case!("stream_stream_outer_join_asymmetric", STREAMS, Plain, Str, |b| stream_stream(
            &b,
            "outer",
            JoinWindows::within(ms(40)).grace(ms(20)).after(ms(0))
        )),
        // table-table joins
        case!("table_table_join", TABLES, Plain, Str, |b| table_table(&b, "inner", false)),
        case!("table_table_left_join", TABLES, Plain, Str, |b| table_table(&b, "left", false)),
        case!("table_table_outer_join", TABLES, Plain, Str, |b| table_table(&b, "outer", false)),
        case!("table_table_join_filtered", TABLES, Plain, Str, |b| table_table(&b, "inner", true)),
        case!("table_table_left_join_filtered", TABLES, Plain, Str, |b| table_table(&b, "left", true)),
        case!("table_table_outer_join_filtered", TABLES, Plain, Str, |b| table_table(&b, "outer", true)),
        case!("table_table_join_group_by_count", TABLES, Plain, Long, |b| {
            let (l, r) = (b.table::<String, String>("left"), b.table::<String, String>("right"));
            l.left_join(r, |a, c| format!("{a}+{}", show(c)))
                .group_by(|_, v| (format!("g{}", v.len() % 3), v.clone()))
                .count()
                .to_stream()
                .to("out")
        }),
        // foreign-key table joins (KIP-213)
        case!("table_fk_join", TABLES, Plain, Str, |b| {
            let (l, r) = (b.table::<String, String>("left"), b.table::<String, String>("right"));
            l.foreign_key_join(r, fk, |a, c| format!("{a}+{c}")).to_stream().to("out")
        }),
        case!("table_fk_left_join", TABLES, Plain, Str, |b| {
            let (l, r) = (b.table::<String, String>("left"), b.table::<String, String>("right"));
            l.foreign_key_left_join(r, fk, |a, c| format!("{a}+{}", show(c))).to_stream().to("out")
        }),
        case!("table_fk_join_filtered_group_by_count", TABLES, Plain, Long, |b| {
            let l = b.table::<String, String>("left");
            let r = b
                .table::<String, String>("right")
                .map_values(|v| v.to_uppercase())
                .filter(|_, v| !v.ends_with('3'));
            l.filter(|_, v| !v.ends_with('1'))
                .foreign_key_join(r, fk, |a, c| format!("{a}+{c}"))
                .group_by(|_, v| (format!("g{}", v.len() % 3), v.clone()))
                .count()
                .to_stream()
                .to("out")
        }),
        case!("table_fk_left_join_named", TABLES, Plain, Str, |b| {
            let (l, r) = (b.table::<String, String>("left"), b.table::<String, String>("right"));
            l.named("orders")
                .foreign_key_left_join(r, fk, |a, c| format!("{a}+{}", show(c)))
                .to_stream()
                .to("out")
        }),
        // windowed tables joined (through their window stores)
        case!("windowed_table_join", STREAMS_WITHOUT_NULL_VALUES, TimeWindowed(100), Str, |b| {
            let counts = |topic: &str| {
                b.stream::<String, String>(topic)
                    .group_by_key()
                    .window(TimeWindows::of(ms(100)).grace(ms(20)))
                    .count()
            };
            counts("left").join(counts("right"), |x, y| format!("{x}+{y}")).to_stream().to("out")
        }),
        // a stream as a table (a null value deletes); a re-keyed stream joined; merged streams
        case!("stream_to_table", LONGS, Plain, Long, |b| nullable(&b)
            .to_table()
            .filter(|_, v| v.is_none_or(|v| v % 3 != 0))
            .to_stream()
            .to("out")),
        case!("select_key_to_table", LONGS, Plain, Long, |b| b
            .stream::<Option<String>, Option<i64>>("in")
            .select_key(|_, v| v.map(|v| format!("t{}", v.rem_euclid(4))))
            .to_table()
            .to_stream()
            .to("out")),
        case!("select_key_table_join", STREAM_TABLE, Plain, Str, |b| {
            let t = b.table::<Option<String>, String>("right");
            b.stream::<Option<String>, Option<String>>("left")
                .select_key(|_, v| v.as_ref().map(|v| format!("k{}", (v.len() + 2) % 6)))
                .join(t, |l, r| format!("{}+{r}", show(l)))
                .to("out")
        }),
        case!("select_key_stream_join", STREAMS, Plain, Str, |b| {
            type Nullable = Option<String>;
            let r = b
                .stream::<Nullable, Nullable>("right")
                .map(|k, v| (v.as_ref().map(|v| format!("k{}", v.len() % 6)), k.clone()));
            b.stream::<Nullable, Nullable>("left")
                .select_key(|_, v| v.as_ref().map(|v| format!("k{}", (v.len() + 2) % 6)))
                .left_join_windowed(r, JoinWindows::within(ms(50)).grace(ms(20)), |a, c| {
                    format!("{}+{}", show(a), show(c.flatten()))
                })
                .to("out")
        }),
        case!("merge_flat_map_count", STREAMS, Plain, Long, |b| b
            .stream::<Option<String>, Option<String>>("left")
            .merge(b.stream::<Option<String>, Option<String>>("right"))
            .flat_map(|k, v| match v {
                None => vec![],
                Some(v) => vec![(Some(v.clone()), k.clone()), (Some("all".to_string()), Some(v.clone()))],
            })
            .group_by_key()
            .count()
            .to_stream()
            .to("out")),
        // One record updating a key, another, then the first again: the record cache flushes
        // in the order of the latest updates.
        case!("flat_map_repeated_key_count", LONGS, Plain, Long, |b| b
            .stream::<Option<String>, Option<i64>>("in")
            .flat_map(|_, v| v.map_or_else(Vec::new, repeated_key))
            .group_by_key()
            .count()
            .to_stream()
            .to("out")),
        case!("flat_map_repeated_key_windowed_count", LONGS, TimeWindowed(100), Long, |b| b
            .stream::<Option<String>, Option<i64>>("in")
            .flat_map(|_, v| v.map_or_else(Vec::new, repeated_key))
            .group_by_key()
            .window(TimeWindows::of(ms(100)))
            .count()
            .to_stream()
            .to("out")),
        // table group_by
        case!("table_group_by_count", TABLE, Plain, Long, |b| b
            .table::<String, i64>("table")
            .group_by(|_, v| (group3(*v), *v))
            .count()
            .to_stream()
            .to("out")),
        case!("table_group_by_reduce", TABLE, Plain, Long, |b| b
            .table::<String, i64>("table")
            .group_by(|_, v| (group3(*v), *v))
            .reduce(|a, v| a + v, |a, v| a - v)
            .to_stream()
            .to("out")),
        case!("table_group_by_aggregate", TABLE, Plain, Long, |b| b
            .table::<String, i64>("table")
            .group_by(|k, v| (format!("{}{}", &k[..1], v.rem_euclid(2)), *v))
            .aggregate(|| 0, |_, v, a| a + v, |_, v, a| a - v)
            .to_stream()
            .to("out")),
        // the Processor API
        case!("process_punctuate", LONGS, Plain, Long, |b| {
            b.add_state_store(&Stores::key_value::<String, i64>("last"));
            b.stream::<Option<String>, Option<i64>>("in")
                .process(|| LastValue { last: None }, &["last"])
                .to("out")
        }),
        case!("process_punctuate_unlogged", LONGS, Plain, Long, |b| {
            b.add_state_store(&Stores::key_value::<String, i64>("last").with_logging_disabled());
            b.stream::<Option<String>, Option<i64>>("in")
                .process(|| LastValue { last: None }, &["last"])
                .to("out")
        }),
        case!("process_session_store_unlogged", WINDOWED, Plain, Long, |b| {
            b.add_state_store(&session_sums_store().with_logging_disabled());
            b.stream::<Option<String>, Option<i64>>("in")
                .process(|| SessionSums { sessions: None }, &["sessions"])
                .to("out")
        }),
        case!("process_window_store_unlogged", WINDOWED, Plain, Long, |b| {
            b.add_state_store(&window_sums_store().with_logging_disabled());
            b.stream::<Option<String>, Option<i64>>("in")
                .process(|| WindowSums { sums: None }, &["sums"])
                .to("out")
        }),
        case!("process_session_store", WINDOWED, Plain, Long, |b| {
            b.add_state_store(&session_sums_store());
            b.stream::<Option<String>, Option<i64>>("in")
                .process(|| SessionSums { sessions: None }, &["sessions"])
                .to("out")
        }),
        case!("process_window_store", WINDOWED, Plain, Long, |b| {
            b.add_state_store(&window_sums_store());
            b.stream::<Option<String>, Option<i64>>("in")
                .process(|| WindowSums { sums: None }, &["sums"])
                .to("out")
        }),
        // suppression by time limit
        case!("table_suppress_time_limit", TABLE, Plain, Long, |b| b
            .table::<String, i64>("table")
            .suppress(Suppressed::until_time_limit(ms(50), BufferConfig::unbounded()))
            .to_stream()
            .to("out")),
        case!("count_suppress_max_records", LONGS, Plain, Long, |b| longs(&b)
            .group_by_key()
            .count()
            .suppress(
                Suppressed::until_time_limit(ms(100), BufferConfig::max_records(2).emit_early_when_full())
                    .with_name("limited")
            )
            .to_stream()
            .to("out")),
        case!("table_suppress_group_by_count", TABLE, Plain, Long, |b| b
            .table::<String, i64>("table")
            .suppress(Suppressed::until_time_limit(ms(30), BufferConfig::max_records(3)))
            .group_by(|_, v| (group3(*v), *v))
            .count()
            .to_stream()
            .to("out")),
        // a table's value transformer
        case!("table_transform_values", TABLE, Plain, Str, |b| {
            b.add_state_store(&Stores::key_value::<String, i64>("calls"));
            b.table::<String, i64>("table")
                .transform_values(Tagging::default, &["calls"])
                .to_stream()
                .to("out")
        }),
        case!("table_transform_values_group_by", TABLE, Plain, Long, |b| {
            b.add_state_store(&Stores::key_value::<String, i64>("calls"));
            b.table::<String, i64>("table")
                .transform_values(Tagging::default, &["calls"])
                .group_by(|_, v| (format!("g{}", v.len() % 3), v.clone()))
                .count()
                .to_stream()
                .to("out")
        }),
        // cogrouped streams
        case!("cogroup_sum_and_lengths", LONGS_AND_STRINGS, Plain, Long, |b| {
            let longs = b.stream::<String, i64>("left").group_by_key();
            let texts = b.stream::<String, String>("right").group_by_key();
            longs
                .cogroup(|_, v, a: i64| a + v)
                .cogroup(texts, |_, v, a| a + 100 * v.len() as i64)
                .aggregate(|| 0)
                .to_stream()
                .to("out")
        }),
        case!("cogroup_rekeyed", LONGS_AND_STRINGS, Plain, Long, |b| {
            let longs = b
                .stream::<Option<String>, Option<i64>>("left")
                .named("by-rest")
                .group_by(|_, v| v.map(group3));
            let texts = b
                .stream::<Option<String>, Option<String>>("right")
                .named("by-length")
                .group_by(|_, v| v.as_ref().map(|v| format!("g{}", v.len() % 3)));
            longs
                .cogroup(|_, _, a: i64| a + 1)
                .cogroup(texts, |_, _, a| a + 1000)
                .aggregate(|| 0)
                .to_stream()
                .to("out")
        }),
        // topology.optimization=all: one repartition topic per key change, tables' source
        // topics as their changelogs
        case!(optimized "optimized_rekey_count_and_max", LONGS, Plain, Long, |b| {
            let s = b
                .stream::<Option<String>, Option<i64>>("in")
                .select_key(|_, v| v.map(|v| format!("r{}", v.rem_euclid(3))));
            s.clone().group_by_key().count().to_stream().to("out");
            s.group_by_key().reduce(|a, v| a.max(v)).to_stream().to("out2")
        }),
        case!(optimized "optimized_rekey_filter_count_and_join", STREAM_TABLE, Plain, Long, |b| {
            let t = b.table::<Option<String>, String>("right");
            let s = b
                .stream::<Option<String>, Option<String>>("left")
                .select_key(|_, v| v.as_ref().map(|v| format!("k{}", v.len() % 6)));
            s.clone()
                .filter(|_, v| v.as_ref().is_none_or(|v| v.len() % 2 == 0))
                .group_by_key()
                .count()
                .to_stream()
                .to("out");
            s.join(t, |l, r| format!("{}+{r}", show(l))).to("out2")
        }),
        case!(optimized "optimized_merged_rekeyed_counts", STREAMS, Plain, Long, |b| {
            type Nullable = Option<String>;
            let len = |v: &Nullable| v.as_deref().map_or(0, str::len);
            let l = b
                .stream::<Nullable, Nullable>("left")
                .select_key(|_, v| v.as_ref().map(|v| format!("k{}", v.len() % 4)));
            let r = b
                .stream::<Nullable, Nullable>("right")
                .select_key(|_, v| v.as_ref().map(|v| format!("k{}", (v.len() + 1) % 4)));
            let m = l.merge(r);
            m.clone().group_by_key().count().to_stream().to("out");
            m.group_by_key().reduce(move |a, c| if len(&a) >= len(&c) { a } else { c }).to_stream().to("out2")
        }),
        case!(optimized "optimized_flat_map_windowed_and_total", LONGS, TimeWindowed(100), Long, |b| {
            let s = b.stream::<Option<String>, Option<i64>>("in").flat_map(|_, v| match v {
                None => vec![],
                Some(v) => vec![(format!("r{}", v.rem_euclid(3)), v), ("all".to_string(), v)],
            });
            s.clone()
                .filter(|_, v| v % 2 == 0)
                .group_by_key()
                .window(TimeWindows::of(ms(100)))
                .count()
                .to_stream()
                .to("out");
            s.group_by_key().aggregate(|| 0, |_, v, a| a + v).to_stream().to("out2")
        }),
        case!(optimized "optimized_rekey_to_map_values_count", LONGS, Plain, Long, |b| {
            let s = b
                .stream::<Option<String>, Option<i64>>("in")
                .select_key(|_, v| v.map(|v| format!("r{}", v.rem_euclid(3))));
            s.clone().to("rekeyed");
            s.clone()
                .map_values(|v| v.map(|v| v * 10))
                .group_by_key()
                .reduce(|a, v| a.max(v))
                .to_stream()
                .to("out");
            s.group_by_key().count().to_stream().to("out2")
        }),
        case!(optimized "optimized_group_by_count", LONGS, Plain, Long, |b| nullable(&b)
            .group_by(|k, _| format!("g{}", k.as_bytes()[k.len() - 1] % 2))
            .count()
            .to_stream()
            .to("out")),
        case!(optimized "optimized_named_groups_count_and_max", LONGS, Plain, Long, |b| {
            let s = b
                .stream::<Option<String>, Option<i64>>("in")
                .select_key(|_, v| v.map(|v| format!("r{}", v.rem_euclid(3))));
            s.clone().named("by-rest").group_by_key().count().to_stream().to("out");
            s.named("by-rest-too").group_by_key().reduce(|a, v| a.max(v)).to_stream().to("out2")
        }),
        case!(optimized "optimized_select_key_table_join", STREAM_TABLE, Plain, Str, |b| {
            let t = b.table::<Option<String>, String>("right");
            b.stream::<Option<String>, Option<String>>("left")
                .select_key(|_, v| v.as_ref().map(|v| format!("k{}", (v.len() + 2) % 6)))
                .join(t, |l, r| format!("{}+{r}", show(l)))
                .to("out")
        }),
        // a stream joined with itself keeps one store; Kafka rewrites a left self-join too
        case!("self_join_unoptimized", LEFT_STRINGS, Plain, Str, |b| {
            let s = b.stream::<Option<String>, Option<String>>("left");
            s.clone()
                .join_windowed(s, JoinWindows::within(ms(50)).grace(ms(20)), |a, c| {
                    format!("{}+{}", show(a), show(c))
                })
                .to("out")
        }),
        case!(optimized "optimized_self_join", LEFT_STRINGS, Plain, Str, |b| {
            let s = b.stream::<Option<String>, Option<String>>("left");
            s.clone()
                .join_windowed(s, JoinWindows::within(ms(50)).grace(ms(20)), |a, c| format!("{}+{}", show(a), show(c)))
                .to("out")
        }),
        case!(optimized "optimized_self_left_join", LEFT_STRINGS, Plain, Str, |b| {
            let s = b.stream::<Option<String>, Option<String>>("left");
            s.clone()
                .left_join_windowed(s, JoinWindows::within(ms(50)).grace(ms(20)), |a, c| {
                    format!("{}+{}", show(a), show(c.flatten()))
                })
                .to("out")
        }),
        // explicit repartitions
        case!("repartition_count", LONGS, Plain, Long, |b| b
            .stream::<Option<String>, Option<i64>>("in")
            .select_key(|_, v| v.map(|v| format!("r{}", v.rem_euclid(3))))
            .repartition()
            .group_by_key()
            .count()
            .to_stream()
            .to("out")),
        // a left join downstream keeps null keys through an earlier repartition too
        case!("repartition_then_left_join", STREAM_TABLE, Plain, Str, |b| {
            let t = b.table::<Option<String>, String>("right");
            b.stream::<Option<String>, Option<String>>("left")
                .select_key(|_, v| v.as_ref().map(|v| format!("k{}", v.len() % 6)))
                .repartition()
                .map_values(|v| v.map(|v| format!("{v}!")))
                .left_join(t, |l, r| format!("{}+{}", show(l), show(r)))
                .to("out")
        }),
        case!("repartition_named_map_values", LONGS, Plain, Long, |b| b
            .stream::<Option<String>, Option<i64>>("in")
            .repartition_with(Repartitioned::named("rekeyed").with_number_of_partitions(3))
            .map_values(|v| v.map(|v| v * 2))
            .to("out")),
        case!("process_forward_to_named_children", LONGS, Plain, Long, |b| {
            let routed = b.stream::<Option<String>, Option<i64>>("in").process(|| Route, &[]);
            routed.clone().named("evens").map_values(|v| v * 100).to("out");
            routed.named("odds").filter(|_, v| *v != 7).to("out")
        }),
        case!("process_then_count", LONGS, Plain, Long, |b| b
            .stream::<Option<String>, Option<i64>>("in")
            .process(|| Rekey, &[])
            .group_by_key()
            .count()
            .to_stream()
            .to("out")),
        case!("wall_clock_punctuate", WALL_CLOCK_LONGS, Plain, Long, |b| {
            b.add_state_store(&Stores::key_value::<String, i64>("counts"));
            b.stream::<Option<String>, Option<i64>>("in")
                .process(|| WallClockTotal { counts: None, punctuations: 0 }, &["counts"])
                .to("out")
        }),
        case!("process_values_then_count", LONGS, Plain, Long, |b| b
            .stream::<Option<String>, Option<i64>>("in")
            .process_values(|| Double, &[])
            .group_by_key()
            .reduce(|a, v| a + v)
            .to_stream()
            .to("out")),
        case!("table_filter_map_values", TABLE, Plain, Long, |b| b
            .table::<String, i64>("table")
            .filter(|_, v| v % 2 == 0)
            .map_values(|v| v * 10)
            .to_stream()
            .to("out")),
        // versioned tables (KIP-889, KIP-914): a history of 100 ms, so records out of order
        // by up to 120 ms are mostly kept as history and the late ones dropped
        case!("versioned_table_to_stream", TABLE, Plain, Long, |b| b
            .versioned_table::<String, i64>("table", "versioned", HISTORY)
            .to_stream()
            .to("out")),
        case!("versioned_table_filter_map_values", TABLE, Plain, Long, |b| b
            .versioned_table::<String, i64>("table", "versioned", HISTORY)
            .filter(|_, v| v % 2 == 0)
            .map_values(|v| v * 10)
            .to_stream()
            .to("out")),
        case!("versioned_table_filter_group_by_count", TABLE, Plain, Long, |b| b
            .versioned_table::<String, i64>("table", "versioned", HISTORY)
            .filter(|_, v| v % 2 == 0)
            .group_by(|_, v| (format!("g{}", v.rem_euclid(3)), *v))
            .count()
            .to_stream()
            .to("out")),
        case!("stream_versioned_table_join", STREAM_TABLE, Plain, Str, |b| {
            let t = b.versioned_table::<String, String>("right", "versioned", HISTORY);
            b.stream::<String, String>("left").join(t, |l, r| format!("{l}+{r}")).to("out")
        }),
        case!("stream_versioned_table_left_join", STREAM_TABLE, Plain, Str, |b| {
            let t = b.versioned_table::<Option<String>, String>("right", "versioned", HISTORY);
            b.stream::<Option<String>, String>("left")
                .left_join(t, |l, r| format!("{l}+{}", show(r)))
                .to("out")
        }),
        // KIP-923: stream records wait 50 ms for the versioned table's late updates
        case!("stream_versioned_table_join_grace", STREAM_TABLE, Plain, Str, |b| {
            let t = b.versioned_table::<String, String>("right", "versioned", HISTORY);
            b.stream::<String, String>("left").join_with_grace(t, ms(50), |l, r| format!("{l}+{r}")).to("out")
        }),
        case!("versioned_table_table_join", TABLES, Plain, Str, |b| {
            let l = b.versioned_table::<String, String>("left", "left-versioned", HISTORY);
            let r = b.versioned_table::<String, String>("right", "right-versioned", HISTORY);
            l.join(r, |a, c| format!("{a}+{c}")).to_stream().to("out")
        }),
        case!("versioned_table_table_outer_join", TABLES, Plain, Str, |b| {
            let l = b.versioned_table::<String, String>("left", "left-versioned", HISTORY);
            let r = b.table::<String, String>("right").filter(|_, v| !v.ends_with('3'));
            l.outer_join(r, |a, c| format!("{}+{}", show(a), show(c))).to_stream().to("out")
        }),
        case!("versioned_table_fk_join", TABLES, Plain, Str, |b| {
            let l = b.versioned_table::<String, String>("left", "left-versioned", HISTORY);
            let r = b.versioned_table::<String, String>("right", "right-versioned", HISTORY);
            l.foreign_key_join(r, fk, |a, c| format!("{a}+{c}")).to_stream().to("out")
        }),
    ]
}
