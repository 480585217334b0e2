//! Joins: stream-table, stream-stream (windowed, KIP-633 emission), table-table.

use std::time::Duration;

use streams_runtime::prelude::*;
use streams_runtime::{KafkaStreams, RunMode, StreamsConfig, TestOutputTopic};

fn stream_table(left: bool) -> Topology {
    let b = StreamsBuilder::new();
    let profiles = b.table::<i32, String>("profiles");
    let views = b.stream::<i32, String>("views");
    if left {
        views
            .left_join(profiles, |page, name| format!("{page} by {}", name.unwrap_or_else(|| "?".into())))
            .to("out");
    } else {
        views.join(profiles, |page, name| format!("{page} by {name}")).to("out");
    }
    b.build()
}

#[test]
fn stream_table_join_sees_the_table_as_of_each_record_in_both_orders() {
    for left in [false, true] {
        let driver = TestDriver::new(stream_table(left));
        let (views, profiles) =
            (driver.input::<i32, String>("views"), driver.input::<i32, Option<String>>("profiles"));
        views.pipe(1, "home".into(), 100); // before the profile: no match
        profiles.pipe(1, Some("ann".into()), 200);
        views.pipe(1, "cart".into(), 300); // after: joined
        profiles.pipe(1, Some("anna".into()), 400); // update between stream records
        views.pipe(1, "pay".into(), 500);
        profiles.pipe(1, None, 600); // tombstone
        views.pipe(1, "bye".into(), 700);
        let out: Vec<(String, i64)> =
            driver.output::<i32, String>("out").read_all().into_iter().map(|(_, v, ts)| (v, ts)).collect();
        let expected: Vec<(&str, i64)> = if left {
            vec![("home by ?", 100), ("cart by ann", 300), ("pay by anna", 500), ("bye by ?", 700)]
        } else {
            vec![("cart by ann", 300), ("pay by anna", 500)]
        };
        assert_eq!(
            out,
            expected.into_iter().map(|(v, t)| (v.to_string(), t)).collect::<Vec<_>>(),
            "left = {left}"
        );
    }
}

#[test]
fn stream_table_join_lists_the_table_store_and_shares_its_subtopology() {
    let text = stream_table(false).describe().to_string();
    assert!(
        text.contains("Processor: KSTREAM-JOIN-0000000004 (stores: [profiles-STATE-STORE-0000000000])"),
        "{text}"
    );
    assert!(
        text.contains("Processor: KTABLE-SOURCE-0000000002 (stores: [profiles-STATE-STORE-0000000000])"),
        "{text}"
    );
    assert_eq!(stream_table(false).describe().subtopology_count(), 1);
}

#[test]
fn join_inputs_must_be_copartitioned() {
    let driver = TestDriver::new(stream_table(false))
        .with_topic_partitions("views", 2)
        .with_topic_partitions("profiles", 3);
    let err =
        driver.input::<i32, String>("views").try_pipe_record(Record::new(1, "x".into(), 0)).unwrap_err();
    assert!(
        err.to_string().contains("`profiles` (3 partitions)")
            && err.to_string().contains("`views` (2 partitions)"),
        "{err}"
    );
}

fn windowed(kind: &str, windows: JoinWindows) -> Topology {
    let b = StreamsBuilder::new();
    let clicks = b.stream::<i32, String>("clicks");
    let searches = b.stream::<i32, String>("searches");
    let show = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    match kind {
        "inner" => clicks.join_windowed(searches, windows, |c, s| format!("{c}+{s}")).to("out"),
        "left" => {
            clicks.left_join_windowed(searches, windows, move |c, s| format!("{c}+{}", show(s))).to("out")
        }
        _ => clicks
            .outer_join_windowed(searches, windows, move |c, s| format!("{}+{}", show(c), show(s)))
            .to("out"),
    }
    b.build()
}

fn read(out: &mut TestOutputTopic<i32, String>) -> Vec<(String, i64)> {
    out.read_all().into_iter().map(|(_, v, ts)| (v, ts)).collect()
}

fn owned(v: &[(&str, i64)]) -> Vec<(String, i64)> {
    v.iter().map(|(s, t)| (s.to_string(), *t)).collect()
}

#[test]
fn windowed_inner_join_in_both_orders_with_several_matches() {
    let driver = TestDriver::new(windowed("inner", JoinWindows::within(Duration::from_secs(1))));
    let (clicks, searches) = (driver.input::<i32, String>("clicks"), driver.input::<i32, String>("searches"));
    let mut out = driver.output::<i32, String>("out");
    searches.pipe(1, "s1".into(), 1_000);
    clicks.pipe(1, "c1".into(), 1_500); // right first, then left
    assert_eq!(read(&mut out), owned(&[("c1+s1", 1_500)]));
    searches.pipe(1, "s2".into(), 2_000); // left first, then right; joins c1 (500 ms apart)
    assert_eq!(read(&mut out), owned(&[("c1+s2", 2_000)]));
    clicks.pipe(1, "c2".into(), 1_800); // both searches in window: two results
    assert_eq!(read(&mut out), owned(&[("c2+s1", 1_800), ("c2+s2", 2_000)]));
    clicks.pipe(2, "other-key".into(), 1_900);
    assert!(read(&mut out).is_empty(), "keys join only with themselves");
}

#[test]
fn a_search_after_the_click_does_not_match_a_before_only_window() {
    // Searches in the second *before* the click: before = 1 s, after = 0.
    let windows = JoinWindows::within(Duration::from_secs(1)).after(Duration::ZERO);
    let driver = TestDriver::new(windowed("inner", windows));
    let (clicks, searches) = (driver.input::<i32, String>("clicks"), driver.input::<i32, String>("searches"));
    searches.pipe(1, "before".into(), 900);
    clicks.pipe(1, "click".into(), 1_000);
    searches.pipe(1, "after".into(), 1_100);
    assert_eq!(read(&mut driver.output::<i32, String>("out")), owned(&[("click+before", 1_000)]));
}

#[test]
fn left_join_emits_an_unmatched_record_only_after_its_window_closes() {
    let driver = TestDriver::new(windowed("left", JoinWindows::within(Duration::from_secs(1))));
    let (clicks, searches) = (driver.input::<i32, String>("clicks"), driver.input::<i32, String>("searches"));
    let mut out = driver.output::<i32, String>("out");
    clicks.pipe(1, "lonely".into(), 1_000);
    assert!(read(&mut out).is_empty(), "not eagerly");
    searches.pipe(9, "elsewhere".into(), 1_999); // stream time 1999: window [0, 2000] still open
    assert!(read(&mut out).is_empty());
    clicks.pipe(1, "matched".into(), 2_500);
    searches.pipe(1, "s".into(), 2_600);
    assert_eq!(
        read(&mut out),
        owned(&[("lonely+-", 1_000), ("matched+s", 2_600)]),
        "closed at stream time 2500"
    );
    searches.pipe(9, "tick".into(), 10_000);
    assert!(read(&mut out).is_empty(), "a matched record is never emitted unmatched");
}

#[test]
fn outer_join_emits_unmatched_records_of_both_sides_when_their_windows_close() {
    let driver = TestDriver::new(windowed(
        "outer",
        JoinWindows::within(Duration::from_secs(1)).grace(Duration::from_millis(500)),
    ));
    let (clicks, searches) = (driver.input::<i32, String>("clicks"), driver.input::<i32, String>("searches"));
    let mut out = driver.output::<i32, String>("out");
    clicks.pipe(1, "c".into(), 1_000);
    searches.pipe(2, "s".into(), 1_200);
    searches.pipe(3, "tick".into(), 2_400); // 1000 + 1000 + 500 = 2500 not yet
    assert!(read(&mut out).is_empty());
    searches.pipe(3, "tick".into(), 2_701); // passes c's window end + grace (2500) and s's (2700)
    assert_eq!(read(&mut out), owned(&[("c+-", 1_000), ("-+s", 1_200)]));
}

#[test]
fn table_table_joins_update_on_both_sides_and_delete_on_tombstones() {
    let b = StreamsBuilder::new();
    let names = b.table::<i32, String>("names");
    let zips = b.table::<i32, String>("zips");
    names.clone().join(zips.clone(), |n, z| format!("{n}@{z}")).to_stream().to("inner");
    names
        .clone()
        .left_join(zips.clone(), |n, z| format!("{n}@{}", z.unwrap_or_default()))
        .to_stream()
        .to("left");
    names
        .outer_join(zips, |n, z| format!("{}@{}", n.unwrap_or_default(), z.unwrap_or_default()))
        .to_stream()
        .to("outer");
    let driver = TestDriver::new(b.build());
    let (n, z) = (driver.input::<i32, Option<String>>("names"), driver.input::<i32, Option<String>>("zips"));
    n.pipe(1, Some("ann".into()), 1);
    z.pipe(1, Some("94301".into()), 2);
    z.pipe(1, Some("94303".into()), 3);
    n.pipe(1, None, 4);
    let values = |topic: &str| -> Vec<Option<String>> {
        driver.output::<i32, Option<String>>(topic).read_key_values().into_iter().map(|(_, v)| v).collect()
    };
    let s = |v: &str| Some(v.to_string());
    assert_eq!(values("inner"), vec![s("ann@94301"), s("ann@94303"), None]);
    assert_eq!(values("left"), vec![s("ann@"), s("ann@94301"), s("ann@94303"), None]);
    assert_eq!(values("outer"), vec![s("ann@"), s("ann@94301"), s("ann@94303"), s("@94303")]);
}

#[test]
fn a_rekeyed_stream_is_repartitioned_before_the_join() {
    let b = StreamsBuilder::new();
    let profiles = b.table::<i32, String>("profiles");
    b.stream::<String, i32>("views-by-page")
        .select_key(|_, user| *user)
        .join(profiles, |_, name| name)
        .to("out");
    let topology = b.build();
    assert!(topology.describe().to_string().contains("-repartition"), "{}", topology.describe());
    let driver = TestDriver::new(topology).with_partitions(3);
    driver.input::<i32, Option<String>>("profiles").pipe(7, Some("zed".into()), 1);
    driver.input::<String, i32>("views-by-page").pipe("/home".into(), 7, 2);
    assert_eq!(driver.output::<i32, String>("out").read_key_values(), vec![(7, "zed".to_string())]);
}

fn global_join() -> Topology {
    let b = StreamsBuilder::new();
    let countries = b.global_table::<String, String>("countries");
    b.stream::<String, String>("orders")
        .join_global(countries, |_order, country| country.clone(), |order, name| format!("{order} to {name}"))
        .to("shipments");
    b.build()
}

#[test]
fn global_table_join_describes_as_kafka() {
    let expected = streams_tests::fixture("describe_global.txt");
    assert_eq!(global_join().describe().to_string(), expected);
}

#[test]
fn a_global_table_is_seen_whole_by_every_partition_without_copartitioning() {
    let driver = TestDriver::new(global_join())
        .with_topic_partitions("orders", 4)
        .with_topic_partitions("countries", 1);
    let countries = driver.input::<String, Option<String>>("countries");
    countries.pipe("fr".into(), Some("France".into()), 1);
    countries.pipe("jp".into(), Some("Japan".into()), 2);
    let orders = driver.input::<String, String>("orders");
    for (id, country) in [("o1", "fr"), ("o2", "jp"), ("o3", "xx"), ("o4", "fr")] {
        orders.pipe(id.into(), country.into(), 3);
    }
    countries.pipe("fr".into(), None, 4);
    orders.pipe("o5".into(), "fr".into(), 5);
    let mut out: Vec<String> =
        driver.output::<String, String>("shipments").read_key_values().into_iter().map(|(_, v)| v).collect();
    out.sort();
    assert_eq!(out, vec!["fr to France", "fr to France", "jp to Japan"]);
}

#[test]
fn the_runner_bootstraps_global_tables_before_processing() {
    use std::sync::Arc;
    use streams_runtime::cluster::memory::MemoryCluster;
    use streams_runtime::cluster::Cluster;
    use streams_runtime::{Headers, KafkaStreams, RunMode, StreamsConfig};
    let cluster = MemoryCluster::with_auto_create(Some(2));
    cluster.create_topic("countries", 3).unwrap();
    cluster.create_topic("orders", 2).unwrap();
    // The order comes first in time; the global table is still read before it is processed.
    cluster.produce("orders", None, Some(b"o1".to_vec()), Some(b"jp".to_vec()), 1, Headers::new()).unwrap();
    cluster
        .produce("countries", None, Some(b"jp".to_vec()), Some(b"Japan".to_vec()), 100, Headers::new())
        .unwrap();
    let streams = KafkaStreams::new(global_join(), StreamsConfig::new("global"), Arc::new(cluster.clone()));
    tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    let out: Vec<Vec<u8>> =
        cluster.records_in_order("shipments").into_iter().filter_map(|r| r.value).collect();
    assert_eq!(out, vec![b"jp to Japan".to_vec()]);
}

#[test]
fn the_runner_keeps_a_global_table_up_to_date_while_it_runs() {
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    use streams_runtime::cluster::memory::MemoryCluster;
    use streams_runtime::cluster::Cluster;
    use streams_runtime::{Headers, KafkaStreams, RunMode, StreamsConfig};
    let cluster = MemoryCluster::with_auto_create(Some(1));
    cluster.create_topic("countries", 1).unwrap();
    cluster.create_topic("orders", 2).unwrap();
    let send = |topic: &str, key: &str, value: &str, ts: i64| {
        cluster.produce(topic, None, Some(key.into()), Some(value.into()), ts, Headers::new()).unwrap();
    };
    send("countries", "jp", "Japan", 1);
    send("orders", "o1", "jp", 2);
    let streams = Arc::new(KafkaStreams::new(
        global_join(),
        StreamsConfig::new("global-live"),
        Arc::new(cluster.clone()),
    ));
    let input = streams.open_input();
    let running = {
        let streams = streams.clone();
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained))
        })
    };
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let started = Instant::now();
        while !done() {
            assert!(started.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    wait_for("the first shipment", &|| cluster.records_in_order("shipments").len() == 1);
    // The table changes while the application runs; the next order sees the new value.
    send("countries", "jp", "Nippon", 3);
    let store = "countries-STATE-STORE-0000000000";
    wait_for("the global store to change", &|| {
        streams
            .key_value_store::<String, String>(store)
            .unwrap_or_default()
            .contains(&("jp".into(), "Nippon".into()))
    });
    send("orders", "o2", "jp", 4);
    drop(input);
    running.join().unwrap().unwrap();
    let out: Vec<Vec<u8>> =
        cluster.records_in_order("shipments").into_iter().filter_map(|r| r.value).collect();
    assert_eq!(out, vec![b"jp to Japan".to_vec(), b"jp to Nippon".to_vec()]);
}

/// Orders (id → customer id) joined with customers (id → name) on the customer id, written
/// with `topology!` (a table joining a table with three arguments is a foreign-key join).
fn orders_with_names(left: bool) -> Topology {
    if left {
        topology! {
            let customers = table::<String, String>("customers");
            table::<String, String>("orders")
                |> left_join(customers, |customer| customer.clone(), |customer, name| format!("{customer}:{}", name.unwrap_or_default()))
                |> to_stream
                |> to("out");
        }
    } else {
        topology! {
            let customers = table::<String, String>("customers");
            table::<String, String>("orders")
                |> join(customers, |customer| customer.clone(), |customer, name| format!("{customer}:{name}"))
                |> to_stream
                |> to("out");
        }
    }
}

#[test]
fn foreign_key_join_follows_both_sides_and_a_row_moving_to_another_key() {
    for left in [false, true] {
        let driver = TestDriver::new(orders_with_names(left));
        let orders = driver.input::<String, Option<String>>("orders");
        let customers = driver.input::<String, Option<String>>("customers");
        let mut out = driver.output::<String, Option<String>>("out");
        let mut read = || -> Vec<(String, Option<String>, i64)> { out.read_all() };
        orders.pipe("o1".into(), Some("c1".into()), 10); // no customer yet
        assert_eq!(read(), if left { vec![("o1".into(), Some("c1:".into()), 10)] } else { vec![] });
        customers.pipe("c1".into(), Some("ann".into()), 20); // answers its subscriber
        assert_eq!(read(), vec![("o1".into(), Some("c1:ann".into()), 20)]);
        customers.pipe("c2".into(), Some("bob".into()), 30);
        orders.pipe("o1".into(), Some("c2".into()), 40); // moves to c2: joined with its row
        assert_eq!(read(), vec![("o1".into(), Some("c2:bob".into()), 40)]);
        customers.pipe("c1".into(), Some("anna".into()), 50); // no longer a subscriber of c1
        assert_eq!(read(), vec![]);
        customers.pipe("c2".into(), None, 60); // the right row deleted
        let deleted = if left { Some("c2:".to_string()) } else { None };
        assert_eq!(read(), vec![("o1".into(), deleted, 60)]);
        orders.pipe("o1".into(), None, 70); // the left row deleted
        assert_eq!(read(), vec![("o1".into(), None, 70)], "left = {left}");
    }
}

#[test]
fn foreign_key_join_describes_its_topics_and_store_as_kafka_names_them() {
    let text = orders_with_names(false).describe().to_string();
    for line in [
        "Sink: KTABLE-SINK-0000000008 (topic: KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-0000000006-topic)",
        "Source: KTABLE-SOURCE-0000000009 (topics: [KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-0000000006-topic])",
        "Processor: KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-0000000011 (stores: [KTABLE-FK-JOIN-SUBSCRIPTION-STATE-STORE-0000000010])",
        "Source: KTABLE-SOURCE-0000000016 (topics: [KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-0000000014-topic])",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
}

/// On the embedded cluster the subscription topic takes the right table's partition count
/// and the response topic the left's, so tables of 2 and 5 partitions join.
#[test]
fn foreign_key_join_runs_on_tables_of_different_partition_counts() {
    use streams_runtime::cluster::memory::MemoryCluster;
    use streams_runtime::cluster::Cluster;
    let cluster = MemoryCluster::new();
    cluster.create_topic("orders", 2).unwrap();
    cluster.create_topic("customers", 5).unwrap();
    let text = |s: &str| Some(s.as_bytes().to_vec());
    for c in 0..20 {
        cluster
            .produce("customers", None, text(&format!("c{c}")), text(&format!("n{c}")), 1, Headers::new())
            .unwrap();
    }
    for o in 0..50 {
        let customer = format!("c{}", o % 25); // c20..c24 have no row
        cluster.produce("orders", None, text(&format!("o{o}")), text(&customer), 2, Headers::new()).unwrap();
    }
    let streams = KafkaStreams::new(
        orders_with_names(false),
        StreamsConfig::new("fk"),
        std::sync::Arc::new(cluster.clone()),
    );
    tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    let partitions = |t: &str| cluster.partitions(t);
    assert_eq!(partitions("fk-KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-0000000006-topic"), Some(5));
    assert_eq!(partitions("fk-KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-0000000014-topic"), Some(2));
    let mut joined = std::collections::BTreeMap::new();
    for r in cluster.records_in_order("out") {
        let key = String::from_utf8(r.key.unwrap().to_vec()).unwrap();
        joined.insert(key, r.value.map(|v| String::from_utf8(v.to_vec()).unwrap()));
    }
    joined.retain(|_, v| v.is_some());
    assert_eq!(joined.len(), 40, "{joined:?}");
    assert_eq!(joined["o32"].as_deref(), Some("c7:n7"));
    // A new instance restores the subscriptions from their changelog: a customer's update
    // still reaches its two orders.
    cluster.produce("customers", None, text("c7"), text("n7b"), 3, Headers::new()).unwrap();
    let streams = KafkaStreams::new(
        orders_with_names(false),
        StreamsConfig::new("fk"),
        std::sync::Arc::new(cluster.clone()),
    );
    tokio::runtime::Runtime::new().unwrap().block_on(streams.run(RunMode::UntilDrained)).unwrap();
    let last: Vec<(String, String)> = cluster
        .records_in_order("out")
        .into_iter()
        .rev()
        .take(2)
        .map(|r| {
            (
                String::from_utf8(r.key.unwrap().to_vec()).unwrap(),
                String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
            )
        })
        .collect();
    let mut last = last;
    last.sort();
    assert_eq!(
        last,
        vec![("o32".to_string(), "c7:n7b".to_string()), ("o7".to_string(), "c7:n7b".to_string())]
    );
}

/// Users' profiles as a versioned table (ten seconds of history), joined by their clicks.
fn clicks_with_versioned_profiles() -> Topology {
    let b = StreamsBuilder::new();
    let profiles =
        b.versioned_table::<String, String>("profiles", "profiles-by-time", Duration::from_secs(10));
    b.stream::<String, String>("clicks")
        .join(profiles, |click, profile| format!("{click}@{profile}"))
        .to("out");
    b.build()
}

/// KIP-914: a stream record joins the table row that was valid at its own timestamp, even
/// when the table has moved on or the update arrives out of order; the store keeps each
/// version a lookup may ask for.
#[test]
fn a_stream_record_joins_the_versioned_row_valid_at_its_timestamp() {
    let driver = TestDriver::new(clicks_with_versioned_profiles());
    let (profiles, clicks) =
        (driver.input::<String, String>("profiles"), driver.input::<String, String>("clicks"));
    let mut out = driver.output::<String, String>("out");
    profiles.pipe("ann".into(), "v1".into(), 1_000);
    profiles.pipe("ann".into(), "v3".into(), 3_000);
    profiles.pipe("ann".into(), "v2".into(), 2_000); // out of order: history
    clicks.pipe("ann".into(), "a".into(), 1_500);
    clicks.pipe("ann".into(), "b".into(), 2_500);
    clicks.pipe("ann".into(), "c".into(), 9_000);
    clicks.pipe("ann".into(), "d".into(), 500); // before the first version: no row
    let joined: Vec<String> = out.read_all().into_iter().map(|(_, v, _)| v).collect();
    assert_eq!(joined, ["a@v1", "b@v2", "c@v3"]);
    let store = driver.versioned_store::<String, String>("profiles-by-time").expect("the table's store");
    assert_eq!(store.get(&"ann".to_string()), Some(("v3".to_string(), 3_000)));
    assert_eq!(store.get_as_of(&"ann".to_string(), 2_999), Some(("v2".to_string(), 2_000)));
    // Stream time 20 s: older than 10 s, an update is neither stored nor forwarded (counted
    // as dropped), and a lookup finds only a latest version older than its time.
    profiles.pipe("bob".into(), "w1".into(), 20_000);
    profiles.pipe("ann".into(), "v0".into(), 5_000);
    assert_eq!(driver.dropped_records(), 1);
    assert_eq!(store.get_as_of(&"ann".to_string(), 5_000), Some(("v3".to_string(), 3_000)));
    assert_eq!(store.get_as_of(&"ann".to_string(), 2_500), None, "history beyond the retention");
    clicks.pipe("ann".into(), "e".into(), 2_500);
    clicks.pipe("ann".into(), "f".into(), 9_500);
    let joined: Vec<String> = out.read_all().into_iter().map(|(_, v, _)| v).collect();
    assert_eq!(joined, ["f@v3"]);
}

/// Kafka's `KTable.suppress` refuses a versioned table (`TopologyException`); so does this one.
#[test]
#[should_panic(expected = "suppress() is only supported for non-versioned KTables")]
fn a_versioned_table_cannot_be_suppressed() {
    let b = StreamsBuilder::new();
    b.versioned_table::<String, String>("profiles", "profiles-by-time", Duration::from_secs(1))
        .filter(|_, v| !v.is_empty())
        .suppress(Suppressed::until_time_limit(Duration::from_secs(1), BufferConfig::unbounded()));
}

/// KIP-923: with a grace period, a click waits until stream time has passed it by the grace,
/// so a profile update that arrives late (out of order, within the grace) is still the one
/// it joins; clicks leave in timestamp order.
#[test]
fn with_a_grace_period_a_record_waits_for_late_table_updates() {
    let b = StreamsBuilder::new();
    let profiles =
        b.versioned_table::<String, String>("profiles", "profiles-by-time", Duration::from_secs(10));
    b.stream::<String, String>("clicks")
        .left_join_with_grace(profiles, Duration::from_secs(1), |click, profile| {
            format!("{click}@{profile:?}")
        })
        .to("out");
    let driver = TestDriver::new(b.build());
    let (profiles, clicks) =
        (driver.input::<String, String>("profiles"), driver.input::<String, String>("clicks"));
    let mut out = driver.output::<String, String>("out");
    profiles.pipe("ann".into(), "v1".into(), 1_000);
    clicks.pipe("ann".into(), "a".into(), 2_000);
    clicks.pipe("ann".into(), "b".into(), 1_800);
    assert!(out.read_all().is_empty(), "both wait out the grace");
    profiles.pipe("ann".into(), "v2".into(), 1_500); // late, but within the grace
    clicks.pipe("bob".into(), "c".into(), 3_000); // stream time 3000: up to 2000 leave
    let joined: Vec<(String, i64)> = out.read_all().into_iter().map(|(_, v, t)| (v, t)).collect();
    assert_eq!(joined, [("b@Some(\"v2\")".to_string(), 1_800), ("a@Some(\"v2\")".to_string(), 2_000)]);
    clicks.pipe("ann".into(), "d".into(), 1_000); // older than stream time minus the grace: at once
    let joined: Vec<String> = out.read_all().into_iter().map(|(_, v, _)| v).collect();
    assert_eq!(joined, ["d@Some(\"v1\")"]);
}

/// Kafka refuses a grace period on a table that is not versioned, or keeps less history.
#[test]
#[should_panic(expected = "KTable must be versioned to use a grace period in a stream table join.")]
fn a_grace_period_needs_a_versioned_table() {
    let b = StreamsBuilder::new();
    let profiles = b.table::<String, String>("profiles");
    b.stream::<String, String>("clicks")
        .join_with_grace(profiles, Duration::from_secs(1), |c, p| c + &p)
        .to("out");
}
