//! Codec bytes and producer partitions compared with Apache Kafka's own serializers and
//! partitioner (`tools/kafka-reference/Reference.java` wrote the fixtures).

use serde::{Deserialize, Serialize};
use streams_runtime::partitioner::partition_for_key;
use streams_runtime::prelude::*;
use streams_runtime::StreamsConfig;

use streams_tests::fixture;

fn hex(bytes: Option<Vec<u8>>) -> String {
    match bytes {
        None => "null".into(),
        Some(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// Encodes with `C`, checks the bytes, and decodes them back to the same value.
fn round_trip<C: Codec>(value: C::Value, java_hex: &str)
where
    C::Value: PartialEq + std::fmt::Debug,
{
    let bytes = C::encode(&value).unwrap();
    assert_eq!(hex(bytes.clone()), java_hex, "{} of {value:?}", C::name());
    assert_eq!(C::decode(bytes.as_deref()).unwrap(), value);
}

#[test]
fn primitive_codecs_write_the_bytes_of_kafkas_serializers() {
    let expected = fixture("serializers.txt");
    let mut checked = 0;
    for line in expected.lines() {
        let mut parts = line.rsplitn(2, ' ');
        let (java_hex, what) = (parts.next().unwrap(), parts.next().unwrap());
        let (kind, literal) = what.split_once(' ').unwrap();
        match kind {
            "string" if literal == "null" => round_trip::<Option<String>>(None, java_hex),
            "string" if literal == "<empty>" => round_trip::<String>(String::new(), java_hex),
            "string" => round_trip::<String>(literal.to_string(), java_hex),
            "int" => round_trip::<i32>(literal.parse().unwrap(), java_hex),
            "long" => round_trip::<i64>(literal.parse().unwrap(), java_hex),
            "double" => round_trip::<f64>(literal.parse().unwrap(), java_hex),
            "boolean" => round_trip::<bool>(literal.parse().unwrap(), java_hex),
            "void" => round_trip::<()>((), java_hex),
            "bytes" => round_trip::<Bytes>(unhex(literal), java_hex),
            other => panic!("unknown fixture kind {other}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 21);
}

#[test]
fn unsigned_codecs_use_the_same_big_endian_bits() {
    round_trip::<u32>(u32::MAX, "ffffffff");
    round_trip::<u64>(1 << 40, "0000010000000000");
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, streams_runtime::Json)]
#[serde(rename_all = "camelCase")]
struct TradeStats {
    count_trades: i32,
    min_price: f64,
}

#[test]
fn json_writes_serde_json_and_reads_it_back() {
    let stats = TradeStats { count_trades: 2, min_price: 10.5 };
    let bytes = Json::<TradeStats>::encode(&stats).unwrap().unwrap();
    assert_eq!(String::from_utf8(bytes.clone()).unwrap(), r#"{"countTrades":2,"minPrice":10.5}"#);
    assert_eq!(Json::<TradeStats>::decode(Some(&bytes)).unwrap(), stats);
}

#[test]
fn decoding_errors_say_what_was_expected() {
    assert!(i64::decode(Some(&[1, 2, 3])).unwrap_err().message().contains("expects 8 bytes, got 3"));
    assert!(String::decode(None).unwrap_err().message().contains("use `Option<String>`"));
    assert!(<()>::decode(Some(b"x")).unwrap_err().message().contains("expects null"));
    assert!(bool::decode(Some(&[2])).unwrap_err().message().contains("0 or 1"));
    assert!(Json::<TradeStats>::decode(Some(b"{oops")).unwrap_err().message().contains("invalid JSON"));
    assert!(String::decode(Some(&[0xff])).unwrap_err().message().contains("UTF-8"));
}

#[test]
fn derive_json_gives_a_default_codec_so_to_can_write_it() {
    let b = StreamsBuilder::new();
    b.stream::<String, i32>("counts")
        .map_values(|n| TradeStats { count_trades: n, min_price: 1.0 })
        .to("stats");
    let driver = TestDriver::new(b.build());
    driver.input::<String, i32>("counts").pipe("MMM".into(), 3, 0);
    let raw = driver.output::<String, Json<TradeStats>>("stats").raw();
    assert_eq!(raw[0].value.as_deref(), Some(&br#"{"countTrades":3,"minPrice":1.0}"#[..]));
}

#[test]
fn partitions_match_the_java_producer() {
    let expected = fixture("partitions.txt");
    let counts = [1, 2, 3, 4, 7, 12];
    for line in expected.lines() {
        let mut fields = line.split(' ');
        let key = unhex(fields.next().unwrap());
        for (n, want) in counts.iter().zip(fields) {
            assert_eq!(partition_for_key(&key, *n).to_string(), want, "key {key:?} over {n} partitions");
        }
    }
    assert_eq!(expected.lines().count(), 10);
}

/// A value whose `Serialize` refuses negative numbers, as a hand-written impl may.
#[derive(Debug, Clone, PartialEq, Deserialize, streams_runtime::Json)]
struct Fragile(i64);

impl Serialize for Fragile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 < 0 {
            return Err(serde::ser::Error::custom(format!("{} is negative", self.0)));
        }
        s.serialize_i64(self.0)
    }
}

/// A value the codec cannot write is an error, not a panic: at a sink it fails the record that
/// produced it, unless the production handler skips or dead-letters it (the processing
/// handler does not decide, as in Kafka Streams); in a store's changelog it fails the commit,
/// naming the store.
#[test]
fn a_value_its_codec_cannot_write_fails_its_record_or_the_commit_naming_where() {
    assert!(Json::<Fragile>::encode(&Fragile(-1)).unwrap_err().message().contains("-1 is negative"));

    let b = StreamsBuilder::new();
    b.stream::<String, i64>("in").map_values(Fragile).to("out");
    let driver = TestDriver::new(b.build());
    let input = driver.input::<String, i64>("in");
    input.pipe("a".into(), 1, 0);
    let err = input.try_pipe_record(Record::new("b".into(), -2, 1)).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "processing the record at in-0 offset 1 produced a record that cannot be written: cannot \
             serialize the value for topic `out` with `Json<Fragile>`: `Json<Fragile>` cannot be \
             written as JSON: -2 is negative; set `production.exception.handler`"
        ),
        "{err}"
    );
    input.pipe("c".into(), 3, 2);
    assert_eq!(
        driver.output::<String, Json<Fragile>>("out").read_key_values(),
        vec![("a".into(), Fragile(1)), ("c".into(), Fragile(3))]
    );

    // The production handler decides, not the processing one (Kafka's `RecordCollectorImpl`).
    let fragile = || {
        let b = StreamsBuilder::new();
        b.stream::<String, i64>("in").map_values(Fragile).to("out");
        b.build()
    };
    let driver = TestDriver::new(fragile()).on_processing_error(OnProcessingError::SkipAndCount);
    let refused = driver.input::<String, i64>("in").try_pipe_record(Record::new("a".into(), -1, 0));
    assert!(refused.unwrap_err().to_string().contains("-1 is negative"));
    let driver = TestDriver::new(fragile()).on_production_error(OnProductionError::SkipAndCount);
    driver.input::<String, i64>("in").pipe_all([("a".into(), -1, 0), ("b".into(), 2, 1)]);
    assert_eq!(driver.skipped_records(), 1);
    assert_eq!(
        driver.output::<String, Json<Fragile>>("out").read_key_values(),
        vec![("b".into(), Fragile(2))]
    );
    let driver = TestDriver::new(fragile()).on_production_error(OnProductionError::DeadLetter("dlq".into()));
    driver.input::<String, i64>("in").pipe_all([("a".into(), -1, 0), ("b".into(), 2, 1)]);
    let dead = driver.output::<String, i64>("dlq").read_records();
    assert_eq!((dead.len(), dead[0].value), (1, -1));
    assert_eq!(
        dead[0].headers.last("__streams.errors.exception"),
        Some(Some(&b"SerializationException"[..]))
    );
    let mut config = StreamsConfig::new("production");
    assert_eq!(config.on_production_error().unwrap(), OnProductionError::Fail);
    config.set("production.exception.handler", "org.example.LogAndContinueProductionExceptionHandler");
    assert_eq!(config.on_production_error().unwrap(), OnProductionError::SkipAndCount);
    config.set("production.exception.handler", "LogAndContinueProcessingExceptionHandler");
    assert!(config.on_production_error().is_err());

    let b = StreamsBuilder::new();
    b.stream::<String, i64>("in")
        .group_by_key()
        .aggregate(|| Fragile(0), |_, v, Fragile(sum)| Fragile(sum + v));
    let driver = TestDriver::new(b.build());
    let input = driver.input::<String, i64>("in");
    input.pipe("a".into(), 5, 0);
    let err = input.try_pipe_record(Record::new("a".into(), -7, 1)).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "cannot serialize the value for the changelog of store `KSTREAM-AGGREGATE-STATE-STORE-"
        ) && err.ends_with("-2 is negative"),
        "{err}"
    );
}
