//! Grouping, aggregations, tables and repartitioning, through the `TestDriver`.

use std::collections::BTreeMap;

use streams_runtime::partitioner::partition_for_key;
use streams_runtime::prelude::*;

use streams_tests::fixture;

fn words(line: &str) -> Vec<String> {
    line.to_lowercase().split(|c: char| !c.is_alphanumeric()).map(String::from).collect()
}

fn word_count() -> Topology {
    let b = StreamsBuilder::new();
    b.stream::<(), String>("wordcount-input")
        .flat_map_values(|line| words(&line))
        .filter(|_, w| !w.is_empty() && w != "the")
        .select_key(|_, w| w.clone())
        .group_by_key()
        .count()
        .to_stream()
        .to("wordcount-output");
    b.build()
}

const TEXT: [&str; 3] = ["The quick brown fox", "jumps over the lazy dog", "...the fox, the DOG!"];

fn golden() -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for line in TEXT {
        for w in words(line) {
            if !w.is_empty() && w != "the" {
                *counts.entry(w).or_insert(0) += 1;
            }
        }
    }
    counts
}

#[test]
fn word_count_describes_as_kafka_with_two_subtopologies_and_a_repartition_topic() {
    let text = word_count().describe().to_string();
    assert_eq!(text, fixture("describe_wordcount.txt"));
}

#[test]
fn tables_and_aggregations_describe_as_kafka() {
    let b = StreamsBuilder::new();
    let profiles = b.table::<String, String>("profiles");
    profiles.filter(|_, v| !v.is_empty()).map_values(|v| v.len() as i32).to_stream().to("profile-lengths");
    b.stream::<String, i64>("updates")
        .to_table()
        .filter_not(|_, v| *v < 0)
        .to_stream()
        .to("positive-updates");
    assert_eq!(b.build().describe().to_string(), fixture("describe_tables.txt"));

    let b = StreamsBuilder::new();
    let users = b.table::<String, String>("user-regions");
    users.group_by(|user, region| (region.clone(), user.clone())).count().to_stream().to("users-per-region");
    let amounts = b.stream::<String, i64>("amounts");
    amounts.clone().group_by_key().reduce(|a, b| a + b).to_stream().to("sums");
    amounts
        .group_by(|k, _| k[..1].to_string())
        .aggregate(|| 0i64, |_, v, agg| agg + v)
        .to_stream()
        .to("by-initial");
    assert_eq!(b.build().describe().to_string(), fixture("describe_aggregations.txt"));
}

#[test]
fn word_count_is_golden_on_one_partition() {
    let driver = TestDriver::new(word_count());
    let input = driver.input::<(), String>("wordcount-input");
    for (i, line) in TEXT.iter().enumerate() {
        input.pipe((), line.to_string(), i as i64 * 1000);
    }
    let mut last = BTreeMap::new();
    for (word, count, _) in driver.output::<String, i64>("wordcount-output").read_all() {
        last.insert(word, count);
    }
    assert_eq!(last, golden());
    let store: BTreeMap<String, i64> = driver
        .key_value_store::<String, i64>("KSTREAM-AGGREGATE-STATE-STORE-0000000004")
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(store, golden());
}

#[test]
fn word_count_on_four_partitions_counts_each_word_once_in_its_murmur2_partition() {
    let driver = TestDriver::new(word_count()).with_partitions(4).with_application_id("wc");
    let input = driver.input::<(), String>("wordcount-input");
    for (i, line) in TEXT.iter().enumerate() {
        input.pipe((), line.to_string(), i as i64);
    }
    assert_eq!(driver.partition_count("wc-KSTREAM-AGGREGATE-STATE-STORE-0000000004-repartition"), 4);
    let mut out = driver.output::<String, i64>("wordcount-output");
    let mut last = BTreeMap::new();
    for p in 0..4 {
        for r in out.partition(p) {
            assert_eq!(partition_for_key(r.key.as_bytes(), 4), p, "{} in partition {p}", r.key);
            let previous = last.insert(r.key.clone(), r.value);
            assert_eq!(previous.unwrap_or(0) + 1, r.value, "each word's counts go up by one: {}", r.key);
        }
    }
    assert_eq!(last, golden());
}

#[test]
fn aggregates_carry_the_largest_timestamp_and_write_their_changelog() {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("amounts")
        .group_by_key()
        .named("totals")
        .reduce(|a, b| a + b)
        .to_stream()
        .to("totals");
    let driver = TestDriver::new(b.build()).with_application_id("shop");
    let input = driver.input::<String, i64>("amounts");
    input.pipe_all([("a".into(), 5, 100), ("a".into(), 7, 50), ("b".into(), 1, 10)]);
    assert_eq!(
        driver.output::<String, i64>("totals").read_all(),
        vec![("a".into(), 5, 100), ("a".into(), 12, 100), ("b".into(), 1, 10)]
    );
    let changelog = driver.output::<String, i64>("shop-totals-changelog").read_key_values();
    assert_eq!(changelog, vec![("a".into(), 5), ("a".into(), 12), ("b".into(), 1)]);
}

#[test]
fn a_table_upserts_and_a_null_value_deletes() {
    let b = StreamsBuilder::new();
    b.table::<String, String>("profiles").map_values(|v| v.to_uppercase()).to_stream().to("profiles-upper");
    let driver = TestDriver::new(b.build());
    let input = driver.input::<String, Option<String>>("profiles");
    input.pipe("ann".into(), Some("ski".into()), 1);
    input.pipe("ann".into(), Some("surf".into()), 2);
    input.pipe("ann".into(), None, 3);
    let out = driver.output::<String, Option<String>>("profiles-upper");
    let raw = out.raw();
    assert_eq!(raw[2].value, None, "the deletion stays a tombstone on the wire");
    let mut out = out;
    assert_eq!(
        out.read_key_values(),
        vec![("ann".into(), Some("SKI".into())), ("ann".into(), Some("SURF".into())), ("ann".into(), None)]
    );
}

#[test]
fn a_filtered_table_deletes_rows_that_stop_passing() {
    let b = StreamsBuilder::new();
    b.table::<String, i64>("balances").filter(|_, v| *v >= 0).to_stream().to("solvent");
    let driver = TestDriver::new(b.build());
    let input = driver.input::<String, Option<i64>>("balances");
    input.pipe("a".into(), Some(10), 1);
    input.pipe("a".into(), Some(-5), 2);
    assert_eq!(
        driver.output::<String, Option<i64>>("solvent").read_key_values(),
        vec![("a".into(), Some(10)), ("a".into(), None)]
    );
}

#[test]
fn table_group_by_subtracts_from_the_old_group_and_adds_to_the_new() {
    let b = StreamsBuilder::new();
    b.table::<String, String>("user-regions")
        .group_by(|_user, region| (region.clone(), 1i64))
        .named("users-per-region")
        .aggregate(|| 0i64, |_, n, sum| sum + n, |_, n, sum| sum - n)
        .to_stream()
        .to("users-per-region");
    let driver = TestDriver::new(b.build()).with_partitions(3);
    let input = driver.input::<String, Option<String>>("user-regions");
    input.pipe("ann".into(), Some("north".into()), 1);
    input.pipe("bob".into(), Some("north".into()), 2);
    input.pipe("ann".into(), Some("south".into()), 3); // moves: north 2 -> 1, south 0 -> 1
    input.pipe("bob".into(), None, 4); // leaves: north 1 -> 0
    let mut final_counts = BTreeMap::new();
    for (region, n, _) in driver.output::<String, i64>("users-per-region").read_all() {
        final_counts.insert(region, n);
    }
    assert_eq!(final_counts, BTreeMap::from([("north".to_string(), 0), ("south".to_string(), 1)]));
    let store: BTreeMap<String, i64> =
        driver.key_value_store::<String, i64>("users-per-region").unwrap().into_iter().collect();
    assert_eq!(store, final_counts);
}

#[test]
fn table_group_by_count_counts_rows_per_group() {
    let b = StreamsBuilder::new();
    b.table::<String, String>("user-regions")
        .group_by(|user, region| (region.clone(), user.clone()))
        .count()
        .to_stream()
        .to("counts");
    let driver = TestDriver::new(b.build());
    let input = driver.input::<String, Option<String>>("user-regions");
    input.pipe("ann".into(), Some("north".into()), 1);
    input.pipe("ann".into(), Some("north".into()), 2); // same group again: -1 then +1
    input.pipe("bob".into(), Some("north".into()), 3);
    let counts: Vec<(String, i64)> = driver.output::<String, i64>("counts").read_key_values();
    assert_eq!(counts.last(), Some(&("north".to_string(), 2)));
}

#[test]
fn key_preserving_operations_do_not_repartition() {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("in")
        .filter(|_, v| *v > 0)
        .map_values(|v| v * 2)
        .group_by_key()
        .count()
        .to_stream()
        .to("out");
    let topology = b.build();
    assert_eq!(topology.describe().subtopology_count(), 1);
    assert!(!topology.describe().to_string().contains("repartition"));
}

#[test]
fn to_table_keeps_the_latest_value_per_key() {
    let b = StreamsBuilder::new();
    b.stream::<String, i64>("prices")
        .to_table()
        .group_by(|_, price| ("all".to_string(), *price))
        .aggregate(|| 0i64, |_, p, sum| sum + p, |_, p, sum| sum - p)
        .to_stream()
        .to("total");
    let driver = TestDriver::new(b.build());
    let input = driver.input::<String, i64>("prices");
    input.pipe_all([("x".into(), 10, 1), ("y".into(), 5, 2), ("x".into(), 20, 3)]);
    let totals: Vec<i64> =
        driver.output::<String, i64>("total").read_key_values().into_iter().map(|(_, v)| v).collect();
    assert_eq!(totals.last(), Some(&25));
}

/// Kafka's aggregations drop records with a null key or value (`KStreamAggregate`), counted
/// in the dropped-records sensor. A codec that cannot hold null drops them at the source; an
/// `Option` codec lets them reach the aggregation, which drops them: either way they are
/// counted, and neither is a decoding error.
#[test]
fn null_keys_and_values_are_dropped_and_counted_as_kafka_drops_them() {
    let string_keys = {
        let b = StreamsBuilder::new();
        b.stream::<String, i64>("in").group_by_key().count().to_stream().to("counts");
        b.build()
    };
    let option_keys = {
        let b = StreamsBuilder::new();
        b.stream::<Option<String>, Option<i64>>("in").group_by_key().count().to_stream().to("counts");
        b.build()
    };
    for topology in [string_keys, option_keys] {
        let driver = TestDriver::new(topology);
        let input = driver.input::<(), ()>("in");
        let one = Some(1i64.to_be_bytes().to_vec());
        input.try_pipe_raw(None, one.clone(), 1, Headers::new()).unwrap();
        input.try_pipe_raw(Some(b"a".to_vec()), None, 2, Headers::new()).unwrap();
        input.try_pipe_raw(Some(b"a".to_vec()), one, 3, Headers::new()).unwrap();
        let counts = driver.output::<Bytes, i64>("counts").read_key_values();
        assert_eq!(counts, vec![(b"a".to_vec(), 1)]);
        assert_eq!((driver.dropped_records(), driver.skipped_records()), (2, 0));
    }
}

/// `cogroup`: clicks counted and purchases summed into one table per user; each input folds
/// into the same aggregate with its own aggregator, and every update comes out of one merge.
#[test]
fn cogrouped_streams_fold_into_one_aggregate() {
    #[derive(Clone, Default, Debug, PartialEq, serde::Serialize, serde::Deserialize, Json)]
    struct Activity {
        clicks: i64,
        spent: i64,
    }
    let b = StreamsBuilder::new();
    let clicks = b.stream::<String, String>("clicks").group_by_key();
    let purchases = b.stream::<String, i64>("purchases").group_by_key();
    clicks
        .cogroup(|_, _page, a: Activity| Activity { clicks: a.clicks + 1, ..a })
        .cogroup(purchases, |_, amount, a| Activity { spent: a.spent + amount, ..a })
        .aggregate(Activity::default)
        .to_stream()
        .to("activity");
    let topology = b.build();
    let text = topology.describe().to_string();
    assert!(
        text.contains(
            "COGROUPKSTREAM-AGGREGATE-0000000003 (stores: [COGROUPKSTREAM-AGGREGATE-STATE-STORE-0000000002])"
        ),
        "{text}"
    );
    assert!(text.contains("Processor: COGROUPKSTREAM-MERGE-0000000005 (stores: [])"), "{text}");
    let driver = TestDriver::new(topology);
    driver
        .input::<String, String>("clicks")
        .pipe_all([("ann".into(), "/home".into(), 0), ("bob".into(), "/".into(), 1)]);
    driver.input::<String, i64>("purchases").pipe_all([("ann".into(), 30, 2), ("ann".into(), 12, 3)]);
    driver.input::<String, String>("clicks").pipe_all([("ann".into(), "/cart".into(), 4)]);
    let out = driver.output::<String, Json<Activity>>("activity").read_key_values();
    let a = |clicks, spent| Activity { clicks, spent };
    assert_eq!(
        out,
        [
            ("ann".to_string(), a(1, 0)),
            ("bob".to_string(), a(1, 0)),
            ("ann".to_string(), a(1, 30)),
            ("ann".to_string(), a(1, 42)),
            ("ann".to_string(), a(2, 42)),
        ]
    );
}

/// Two re-keyed groups whose repartition topics are not named would share one topic: refused
/// at build time, as Kafka refuses it, with the fix named.
#[test]
#[should_panic(expected = "give each a name of its own with `.named(\"..\")` before its `group_by`")]
fn cogrouping_two_unnamed_rekeyed_streams_is_refused() {
    let b = StreamsBuilder::new();
    let a = b.stream::<String, i64>("a").group_by(|_, v| v.to_string());
    let c = b.stream::<String, i64>("c").group_by(|_, v| (v % 2).to_string());
    let _ = a.cogroup(|_, v, s: i64| s + v).cogroup(c, |_, v, s| s - v).aggregate(|| 0);
}

/// Pre-aggregation before the repartition topic: the same final table, each key's last
/// update stamped with its largest timestamp as without it, from fewer updates.
#[test]
fn a_pre_aggregated_reduce_ends_with_the_same_table_and_timestamps() {
    let topology = |pre: bool| {
        let b = StreamsBuilder::new();
        let grouped = b
            .stream::<String, String>("readings")
            .flat_map(|sensor, line| {
                line.split(',')
                    .map(|n| (format!("{sensor}/{}", n.len()), n.parse::<i64>().unwrap()))
                    .collect::<Vec<_>>()
            })
            .group_by_key();
        let grouped = if pre { grouped.pre_aggregated() } else { grouped };
        grouped.reduce(i64::max).to_stream().to("max");
        b.build()
    };
    let last = |pre: bool| {
        let driver = TestDriver::new(topology(pre)).with_partitions(2);
        let input = driver.input::<String, String>("readings");
        input.pipe("a".into(), "5,12,7,130".into(), 30);
        input.pipe("b".into(), "9,3,40".into(), 10);
        input.pipe("a".into(), "8,1,99".into(), 20);
        let out = driver.output::<String, i64>("max").read_all();
        let updates = out.len();
        let table: BTreeMap<String, (i64, i64)> = out.into_iter().map(|(k, v, ts)| (k, (v, ts))).collect();
        (table, updates)
    };
    let ((plain, plain_updates), (pre, pre_updates)) = (last(false), last(true));
    assert_eq!(pre, plain);
    assert_eq!(plain["a/1"], (8, 30), "the key's largest timestamp");
    assert!(pre_updates < plain_updates, "{pre_updates} < {plain_updates}");
}
