//! Windowed aggregations: assignment at the edges, grace, late records, emit on close,
//! windowed key bytes.

use std::time::Duration;

use streams_runtime::prelude::*;
use streams_runtime::TestOutputTopic;

use streams_tests::fixture;

fn counts(windows: TimeWindows, emit_on_close: bool) -> Topology {
    let b = StreamsBuilder::new();
    let windowed = b.stream::<String, i64>("events").group_by_key().window(windows);
    let windowed = if emit_on_close { windowed.emit_on_close() } else { windowed };
    windowed.named("counts").count().to_stream().to("counts");
    b.build()
}

type Out = Vec<((String, i64, i64), i64)>;

/// Every record on `counts` so far (from the start of the topic).
fn read(driver: &TestDriver) -> Out {
    unread(&mut driver.output::<TimeWindowed<String>, i64>("counts"))
}

/// The records on `counts` this reader has not read yet.
fn unread(out: &mut TestOutputTopic<TimeWindowed<String>, i64>) -> Out {
    out.read_key_values().into_iter().map(|(w, n)| ((w.key, w.window.start, w.window.end), n)).collect()
}

const FIVE: Duration = Duration::from_secs(5);

#[test]
fn windowed_count_describes_as_kafka() {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("stocks")
        .group_by_key()
        .window(TimeWindows::of(FIVE).advance_by(Duration::from_secs(1)).grace(Duration::from_secs(1)))
        .count()
        .to_stream()
        .to("counts");
    assert_eq!(b.build().describe().to_string(), fixture("describe_windowed.txt"));
}

#[test]
fn tumbling_windows_at_exact_boundaries_and_below_the_size() {
    let driver = TestDriver::new(counts(TimeWindows::of(FIVE).grace(Duration::from_secs(60)), false));
    let input = driver.input::<String, i64>("events");
    input.pipe_all([("a".into(), 1, 0), ("a".into(), 1, 4_999), ("a".into(), 1, 5_000)]);
    let store = driver.window_store::<String, i64>("counts").unwrap();
    let mut windows: Vec<(i64, i64, i64)> =
        store.iter().map(|(w, n)| (w.window.start, w.window.end, *n)).collect();
    windows.sort();
    assert_eq!(windows, vec![(0, 5_000, 2), (5_000, 10_000, 1)]);
    // The output key bytes hold only the start (Kafka's layout): the end reads as unknown.
    let out = read(&driver);
    assert_eq!(out[0], (("a".into(), 0, i64::MAX), 1));
}

#[test]
fn hopping_windows_count_a_record_in_every_window_it_falls_in() {
    let windows = TimeWindows::of(FIVE).advance_by(Duration::from_secs(1)).grace(Duration::from_secs(60));
    let driver = TestDriver::new(counts(windows, false));
    driver.input::<String, i64>("events").pipe("a".into(), 1, 7_500);
    let starts: Vec<i64> = read(&driver).into_iter().map(|((_, s, _), _)| s).collect();
    assert_eq!(starts, vec![3_000, 4_000, 5_000, 6_000, 7_000]);
}

#[test]
fn grace_accepts_out_of_order_records_and_drops_late_ones() {
    let windows = TimeWindows::of(FIVE).grace(Duration::from_secs(1));
    let driver = TestDriver::new(counts(windows, false));
    let input = driver.input::<String, i64>("events");
    input.pipe("a".into(), 1, 1_000); // window [0, 5000)
    input.pipe("a".into(), 1, 5_500); // stream time 5500 < 5000 + 1000: window 0 still open
    input.pipe("a".into(), 1, 4_000); // out of order, within grace: counted
    assert_eq!(driver.dropped_records(), 0);
    input.pipe("a".into(), 1, 6_000); // stream time 6000 = end + grace: window 0 closes
    input.pipe("a".into(), 1, 4_500); // late: dropped, counted
    assert_eq!(driver.dropped_records(), 1);
    let window0: Vec<i64> =
        read(&driver).into_iter().filter(|((_, s, _), _)| *s == 0).map(|(_, n)| n).collect();
    assert_eq!(window0, vec![1, 2], "the late record never reached window 0");
}

#[test]
fn emit_on_close_emits_each_window_exactly_once_when_it_closes() {
    let windows = TimeWindows::of(FIVE).grace(Duration::from_secs(1));
    let driver = TestDriver::new(counts(windows, true));
    let input = driver.input::<String, i64>("events");
    let mut out = driver.output::<TimeWindowed<String>, i64>("counts");
    input.pipe_all([("a".into(), 1, 1_000), ("b".into(), 1, 2_000), ("a".into(), 1, 3_000)]);
    assert!(unread(&mut out).is_empty(), "nothing before the window closes");
    input.pipe("a".into(), 1, 5_999); // stream time 5999 < 6000: still open
    assert!(unread(&mut out).is_empty());
    input.pipe("b".into(), 1, 6_000); // window [0, 5000) closes
    assert_eq!(unread(&mut out), vec![(("a".into(), 0, i64::MAX), 2), (("b".into(), 0, i64::MAX), 1)]);
    input.pipe("b".into(), 1, 7_000);
    assert!(unread(&mut out).is_empty(), "each window is emitted once");
    input.pipe("b".into(), 1, 11_000); // closes [5000, 10000)
    assert_eq!(
        unread(&mut out),
        vec![(("a".into(), 5_000, i64::MAX), 1), (("b".into(), 5_000, i64::MAX), 2)]
    );
}

/// Kafka's `EmitStrategy.onWindowClose()` reads closed windows from its window store, which
/// no longer shows windows starting more than size + grace before the newest window: when
/// stream time jumps that far, the skipped window is never emitted — unless the record cache
/// still holds it (`CachingWindowStore.fetchAll` reads the cache too; the driver flushes after
/// every record, but the store beneath expires only what the cache evicts).
/// `suppress(untilWindowCloses)` buffers every result and emits them all.
#[test]
fn a_jump_in_stream_time_skips_windows_on_close_but_not_when_suppressed() {
    let windows = TimeWindows::of(FIVE).grace(Duration::from_secs(1));
    let suppressed = {
        let b = StreamsBuilder::new();
        b.stream::<String, i64>("events")
            .group_by_key()
            .window(windows)
            .suppress_until_close()
            .count()
            .to_stream()
            .to("counts");
        b.build()
    };
    let emitted = vec![(("a".into(), 0, i64::MAX), 1)];
    for (topology, cache_max_bytes, expected) in [
        (counts(windows, true), 0, vec![]),
        (counts(windows, true), 10 * 1024 * 1024, emitted.clone()),
        (suppressed, 0, emitted),
    ] {
        let driver = TestDriver::new(topology).with_cache_max_bytes(cache_max_bytes);
        let input = driver.input::<String, i64>("events");
        input.pipe("a".into(), 1, 1_000);
        input.pipe("b".into(), 1, 20_000); // newest window starts at 20000: [0, 5000) is out of view
        assert_eq!(read(&driver), expected);
    }
}

#[test]
fn windowed_keys_have_kafkas_byte_layout() {
    let hex = |bytes: Vec<u8>| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    for line in fixture("windowed_keys.txt").lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        let (kind, key, start, end, java) = (parts[0], parts[1], parts[2], parts[3], parts[4]);
        let (start, end): (i64, i64) = (start.parse().unwrap(), end.parse().unwrap());
        if kind == "time" {
            let windowed = Windowed { key: key.to_string(), window: Window { start, end } };
            let bytes = TimeWindowed::<String>::encode(&windowed).unwrap().unwrap();
            assert_eq!(hex(bytes.clone()), java, "{kind}");
            assert_eq!(TimeWindowedOf::<String, 5_000>::decode(Some(&bytes)).unwrap(), windowed);
        } else {
            let windowed = Windowed { key: key.to_string(), window: SessionWindow { start, end } };
            let bytes = SessionWindowed::<String>::encode(&windowed).unwrap().unwrap();
            assert_eq!(hex(bytes.clone()), java, "{kind}");
            assert_eq!(SessionWindowed::<String>::decode(Some(&bytes)).unwrap(), windowed);
        }
    }
}

#[test]
fn window_stores_write_kafkas_changelog_key_layout() {
    let driver = TestDriver::new(counts(TimeWindows::of(FIVE), false)).with_application_id("w");
    driver.input::<String, i64>("events").pipe("k".into(), 1, 5_000);
    let changelog = driver.output::<Bytes, i64>("w-counts-changelog").read_key_values();
    let mut key = b"k".to_vec();
    key.extend_from_slice(&5_000i64.to_be_bytes());
    key.extend_from_slice(&0i32.to_be_bytes());
    assert_eq!(changelog, vec![(key, 1)]);
}

/// Kafka's window stores keep time by the newest window *start* written, and hide windows
/// starting at or before that minus the retention (size + grace).
#[test]
fn windows_expire_after_size_plus_grace() {
    let driver = TestDriver::new(counts(TimeWindows::of(FIVE).grace(Duration::from_secs(1)), false));
    let input = driver.input::<String, i64>("events");
    let starts = || -> Vec<i64> {
        driver.window_store::<String, i64>("counts").unwrap().iter().map(|(w, _)| w.window.start).collect()
    };
    input.pipe("a".into(), 1, 1_000);
    input.pipe("a".into(), 1, 6_001);
    assert_eq!(starts(), vec![0, 5_000], "the newest start is 5000: window 0 is within 6000 of it");
    input.pipe("a".into(), 1, 10_000);
    assert_eq!(starts(), vec![5_000, 10_000], "the newest start is 10000: window 0 is gone");
}

#[test]
fn sessions_merge_when_a_record_bridges_them_and_the_old_ones_are_deleted() {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("clicks")
        .group_by_key()
        .session(SessionWindows::with_inactivity_gap(Duration::from_secs(2)).grace(Duration::from_secs(10)))
        .named("sessions")
        .count()
        .to_stream()
        .to("sessions");
    let driver = TestDriver::new(b.build());
    let input = driver.input::<String, i64>("clicks");
    input.pipe("u".into(), 1, 1_000); // session [1000, 1000]
    input.pipe("u".into(), 1, 5_000); // 4 s later: a second session [5000, 5000]
    input.pipe("u".into(), 1, 3_000); // within 2 s of both: merges them into [1000, 5000]
    let out: Vec<((i64, i64), Option<i64>)> = driver
        .output::<SessionWindowed<String>, Option<i64>>("sessions")
        .read_key_values()
        .into_iter()
        .map(|(w, n)| ((w.window.start, w.window.end), n))
        .collect();
    assert_eq!(
        out,
        vec![
            ((1_000, 1_000), Some(1)),
            ((5_000, 5_000), Some(1)),
            ((1_000, 1_000), None), // merged away
            ((5_000, 5_000), None), // merged away
            ((1_000, 5_000), Some(3)),
        ]
    );
    let sessions = driver.session_store::<String, i64>("sessions").unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].0.window, SessionWindow { start: 1_000, end: 5_000 });
}

#[test]
fn a_record_after_its_session_closed_is_dropped_and_counted() {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("clicks")
        .group_by_key()
        .session(SessionWindows::with_inactivity_gap(Duration::from_secs(1)))
        .count()
        .to_stream()
        .to("sessions");
    let driver = TestDriver::new(b.build());
    let input = driver.input::<String, i64>("clicks");
    input.pipe("u".into(), 1, 10_000);
    input.pipe("u".into(), 1, 1_000); // its session [1000, 1000] ends before stream time 10000
    assert_eq!(driver.dropped_records(), 1);
}

#[test]
fn sliding_windows_are_inclusive_and_created_per_record() {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("events")
        .group_by_key()
        .sliding(SlidingWindows::with_difference(Duration::from_secs(10)).grace(Duration::from_secs(60)))
        .reduce(|a, b| a + b)
        .to_stream()
        .to("sums");
    let driver = TestDriver::new(b.build());
    let input = driver.input::<String, i64>("events");
    input.pipe("k".into(), 1, 20_000); // left window [10000, 20000]: 1
                                       // The previous record's right window [20001, 30001] first (2), then the new record's left
                                       // window [20000, 30000], which includes both ends (1 + 2): Kafka's order
                                       // (`KStreamSlidingWindowAggregate.createWindows`).
    input.pipe("k".into(), 2, 30_000);
    let out: Vec<((i64, i64), i64)> = driver
        .output::<TimeWindowedOf<String, 10_000>, i64>("sums")
        .read_key_values()
        .into_iter()
        .map(|(w, v)| ((w.window.start, w.window.end), v))
        .collect();
    assert_eq!(out, vec![((10_000, 20_000), 1), ((20_001, 30_001), 2), ((20_000, 30_000), 3)]);
}

#[test]
fn windowed_keys_are_partitioned_by_their_inner_key_as_kafkas_windowed_stream_partitioner() {
    use streams_runtime::partitioner::partition_for_key;
    let driver = TestDriver::new(counts(TimeWindows::of(FIVE).advance_by(Duration::from_secs(1)), false))
        .with_topic_partitions("counts", 4);
    let events = driver.input::<String, i64>("events");
    for (i, key) in ["a", "b", "c", "d", "e", "f", "g", "h"].iter().enumerate() {
        events.pipe(key.to_string(), 1, 1_000 * i as i64);
    }
    let raw = driver.output::<TimeWindowed<String>, i64>("counts").raw();
    assert_eq!(raw.len(), 30, "hopping windows from time 0 on: 1 + 2 + 3 + 4 + 5 + 5 + 5 + 5");
    for r in &raw {
        let key = r.key.as_deref().unwrap();
        let inner = &key[..key.len() - 8];
        // All windows of a key together, where a plain `String` key would go.
        assert_eq!(r.partition, partition_for_key(inner, 4), "{:?}", String::from_utf8_lossy(inner));
    }
    // Hashing the whole windowed key would have spread one key's windows.
    assert!(raw.iter().any(|r| r.partition != partition_for_key(r.key.as_deref().unwrap(), 4)));
}

/// A timestamp near `i64::MAX` ends its window sequence instead of overflowing into an
/// endless loop.
#[test]
fn a_timestamp_near_the_end_of_time_terminates() {
    let windows = TimeWindows::of(FIVE).advance_by(Duration::from_secs(1));
    let starts: Vec<i64> = windows.windows_for(i64::MAX - 10).map(|w| w.start).collect();
    assert_eq!(starts.len(), 5);
    assert!(starts.iter().all(|s| *s <= i64::MAX - 10));
    let driver = TestDriver::new(counts(windows, false));
    driver.input::<String, i64>("events").pipe("k".into(), 1, i64::MAX - 10);
    assert_eq!(read(&driver).len(), 5);
}

/// Sliding and session windows and windowed joins at the end of time: no arithmetic
/// overflows (tests run with overflow checks on), every record is processed.
#[test]
fn every_windowed_operator_takes_a_timestamp_at_the_end_of_time() {
    let b = StreamsBuilder::new();
    let events = b.stream::<String, i64>("events");
    let grouped = || events.clone().group_by_key();
    grouped().sliding(SlidingWindows::with_difference(FIVE)).count().to_stream().to("sliding");
    grouped().session(SessionWindows::with_inactivity_gap(FIVE)).count().to_stream().to("sessions");
    events
        .clone()
        .outer_join_windowed(events.clone(), JoinWindows::within(FIVE), |a, b| {
            a.unwrap_or(0) + b.unwrap_or(0)
        })
        .to("joined");
    let driver = TestDriver::new(b.build());
    let input = driver.input::<String, i64>("events");
    for ts in [i64::MAX - 1, i64::MAX, 0, i64::MAX] {
        input.pipe("k".into(), 1, ts);
    }
    assert!(!driver.output::<SessionWindowed<String>, Option<i64>>("sessions").read_key_values().is_empty());
    assert!(!driver.output::<TimeWindowed<String>, i64>("sliding").read_key_values().is_empty());
    assert!(!driver.output::<String, i64>("joined").read_key_values().is_empty());
}
