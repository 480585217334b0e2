//! The stock statistics example: a golden run on fixed trades with out-of-order and late
//! records, and the top-3 output.

use examples::stockstats::{self, MinPrices, TickerPrice, Top3, Trade, TradeStats};
use streams_runtime::prelude::*;

const T0: i64 = stockstats::START_MS;

fn trade(ticker: &str, price: f64) -> Trade {
    Trade { kind: "ASK".into(), ticker: ticker.into(), price, size: 10 }
}

type Stats = Vec<((String, i64), (i32, f64, f64, f64))>;

fn stats(driver: &TestDriver) -> Stats {
    driver
        .output::<TimeWindowedOf<String, 5_000>, Json<TradeStats>>(stockstats::STATS)
        .read_key_values()
        .into_iter()
        .map(|(w, s)| ((w.key, w.window.start - T0), (s.count_trades, s.sum_price, s.min_price, s.avg_price)))
        .collect()
}

#[test]
fn golden_stock_statistics_with_out_of_order_and_late_trades() {
    let driver = TestDriver::new(stockstats::topology());
    let input = driver.input::<String, Json<Trade>>(stockstats::INPUT);
    input.pipe("MMM".into(), trade("MMM", 10.0), T0 + 4_500); // windows starting 0..=4000
    input.pipe("MMM".into(), trade("MMM", 12.0), T0 + 6_000); // windows 2000..=6000; stream time 6000
    input.pipe("MMM".into(), trade("MMM", 8.0), T0 + 3_000); // out of order, partly late
    let out = stats(&driver);
    let expected: Stats = vec![
        // 4500 falls in [0,5000), [1000,6000), [2000,7000), [3000,8000), [4000,9000)
        (("MMM".into(), 0), (1, 10.0, 10.0, 10.0)),
        (("MMM".into(), 1_000), (1, 10.0, 10.0, 10.0)),
        (("MMM".into(), 2_000), (1, 10.0, 10.0, 10.0)),
        (("MMM".into(), 3_000), (1, 10.0, 10.0, 10.0)),
        (("MMM".into(), 4_000), (1, 10.0, 10.0, 10.0)),
        // 6000 falls in [2000,7000) .. [6000,11000)
        (("MMM".into(), 2_000), (2, 22.0, 10.0, 11.0)),
        (("MMM".into(), 3_000), (2, 22.0, 10.0, 11.0)),
        (("MMM".into(), 4_000), (2, 22.0, 10.0, 11.0)),
        (("MMM".into(), 5_000), (1, 12.0, 12.0, 12.0)),
        (("MMM".into(), 6_000), (1, 12.0, 12.0, 12.0)),
        // 3000 belongs to [-1000,4000) and [0,5000), both closed (end + 1 s grace <= stream
        // time 6000: dropped), and to [1000,6000), [2000,7000), [3000,8000), still open
        (("MMM".into(), 1_000), (2, 18.0, 8.0, 9.0)),
        (("MMM".into(), 2_000), (3, 30.0, 8.0, 10.0)),
        (("MMM".into(), 3_000), (3, 30.0, 8.0, 10.0)),
    ];
    assert_eq!(out, expected);
    assert_eq!(driver.dropped_records(), 2, "one drop per closed window, as Kafka's dropped-records metric");
}

#[test]
fn top3_lists_the_lowest_minimum_prices_once_per_closed_minute() {
    let driver = TestDriver::new(stockstats::topology());
    let input = driver.input::<String, Json<Trade>>(stockstats::INPUT);
    for (ticker, price, at) in [
        ("AES", 50.0, 1_000),
        ("ABT", 40.0, 2_000),
        ("MMM", 45.0, 3_000),
        ("ACN", 60.0, 4_000),
        ("AES", 39.0, 59_000),
    ] {
        input.pipe(ticker.into(), trade(ticker, price), T0 + at);
    }
    let mut top3 = driver.output::<TimeWindowedOf<String, 60_000>, Json<Top3>>(stockstats::TOP3);
    assert!(top3.read_all().is_empty(), "nothing before the minute closes");
    input.pipe("MMM".into(), trade("MMM", 1.0), T0 + 61_000); // stream time passes 60 s + 1 s grace
    let out = top3.read_key_values();
    assert_eq!(out.len(), 1);
    let (key, value) = &out[0];
    assert_eq!((key.key.as_str(), key.window.start - T0, key.window.end - T0), ("top3", 0, 60_000));
    let tickers: Vec<(&str, f64)> = value.lowest.iter().map(|t| (t.ticker.as_str(), t.min_price)).collect();
    assert_eq!(tickers, vec![("AES", 39.0), ("ABT", 40.0), ("MMM", 45.0)]);
    input.pipe("MMM".into(), trade("MMM", 1.0), T0 + 62_000);
    assert!(top3.read_all().is_empty(), "each minute once");
}

#[test]
fn min_prices_keep_each_tickers_lowest() {
    let mins = MinPrices::default().add(trade("A", 3.0)).add(trade("A", 1.0)).add(trade("B", 2.0));
    assert_eq!(
        mins.lowest_three().lowest,
        vec![
            TickerPrice { ticker: "A".into(), min_price: 1.0 },
            TickerPrice { ticker: "B".into(), min_price: 2.0 }
        ]
    );
}

#[test]
fn the_demo_runs_ten_minutes_and_closes_each_of_them() {
    let trades = stockstats::trades(602);
    assert_eq!(trades.len(), 6_020);
    assert!(trades.iter().all(|(_, t)| t.kind == "ASK" && (0..100).contains(&t.size)));
    let driver = TestDriver::new(stockstats::topology());
    let input = driver.input::<String, Json<Trade>>(stockstats::INPUT);
    for (ts, t) in trades {
        input.pipe(t.ticker.clone(), t, ts);
    }
    assert_eq!(
        driver.output::<TimeWindowedOf<String, 60_000>, Json<Top3>>(stockstats::TOP3).read_all().len(),
        10
    );
}

#[test]
fn stockstats_runs_from_the_command_line_with_windowed_keys_as_objects() {
    let mut out = Vec::new();
    let code = streams_runtime::cli::run_with_args_to(
        "stockstats",
        stockstats::topology(),
        stockstats::demo,
        ["stockstats", "--partitions", "2"],
        &mut out,
    );
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let text = String::from_utf8(out).unwrap();
    // The windowed statistics come out of the record cache at commits, so the top 3 (emitted
    // as windows close) may come first.
    let first = text.lines().find(|l| l.contains("\"topic\":\"stockstats-output\"")).unwrap();
    let first: serde_json::Value = serde_json::from_str(first).unwrap();
    let key = &first["key"];
    assert_eq!(key["end"].as_i64().unwrap() - key["start"].as_i64().unwrap(), 5_000);
    assert!(first["value"]["countTrades"].is_number());
    assert_eq!(text.lines().filter(|l| l.contains("stockstats-top3")).count(), 10);
}
