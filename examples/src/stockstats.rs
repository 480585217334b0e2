//! Stock statistics (the seed's section 1.2): per ticker, hopping windows of 5 s advancing
//! 1 s with 1 s of grace, aggregated into `TradeStats` and emitted on every update; and the
//! output the seed promised but never wrote: the three tickers with the lowest minimum price
//! in each tumbling minute, emitted once when the minute closes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use streams_runtime::cli::Demo;
use streams_runtime::prelude::*;

/// The input topic: ticker keys, `Trade` JSON values.
pub const INPUT: &str = "stocks";
/// Windowed `TradeStats` per ticker.
pub const STATS: &str = "stockstats-output";
/// The three lowest-priced tickers per minute.
pub const TOP3: &str = "stockstats-top3";

/// A trade, with the seed's JSON field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Json)]
pub struct Trade {
    /// Always `ASK` in the demo.
    #[serde(rename = "type")]
    pub kind: String,
    /// The ticker (also the record key).
    pub ticker: String,
    /// Price per share.
    pub price: f64,
    /// Number of shares.
    pub size: i32,
}

/// Statistics of a ticker's trades in a window, with the seed's Java field names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Json)]
#[serde(rename_all = "camelCase")]
pub struct TradeStats {
    /// The trades' type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The ticker.
    pub ticker: String,
    /// Number of trades.
    pub count_trades: i32,
    /// Sum of their prices.
    pub sum_price: f64,
    /// Lowest price.
    pub min_price: f64,
    /// Average price (`with_avg_price` computes it).
    pub avg_price: f64,
}

impl TradeStats {
    /// Folds a trade in (the seed's `TradeStats.add`).
    pub fn add(mut self, trade: Trade) -> Self {
        if self.count_trades == 0 {
            self.kind = trade.kind;
            self.ticker = trade.ticker;
            self.min_price = trade.price;
        }
        self.count_trades += 1;
        self.sum_price += trade.price;
        self.min_price = self.min_price.min(trade.price);
        self
    }

    /// Sets the average price (the seed's `computeAvgPrice`).
    pub fn with_avg_price(mut self) -> Self {
        self.avg_price = self.sum_price / f64::from(self.count_trades.max(1));
        self
    }
}

/// Each ticker's lowest price in a window, from which the three lowest are taken.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Json)]
pub struct MinPrices(pub BTreeMap<String, f64>);

impl MinPrices {
    /// Folds a trade in.
    pub fn add(mut self, trade: Trade) -> Self {
        let min = self.0.entry(trade.ticker).or_insert(trade.price);
        *min = min.min(trade.price);
        self
    }

    /// The three tickers with the lowest minimum price, lowest first.
    pub fn lowest_three(self) -> Top3 {
        let mut all: Vec<TickerPrice> =
            self.0.into_iter().map(|(ticker, min_price)| TickerPrice { ticker, min_price }).collect();
        all.sort_by(|a, b| a.min_price.total_cmp(&b.min_price).then_with(|| a.ticker.cmp(&b.ticker)));
        all.truncate(3);
        Top3 { lowest: all }
    }
}

/// A ticker and its lowest price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TickerPrice {
    /// The ticker.
    pub ticker: String,
    /// Its lowest price in the minute.
    pub min_price: f64,
}

/// The three lowest-priced tickers of a minute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Json)]
pub struct Top3 {
    /// Lowest first.
    pub lowest: Vec<TickerPrice>,
}

/// The topology.
pub fn topology() -> Topology {
    topology! {
        let trades = stream::<String, Json<Trade>>("stocks");
        trades
            |> group_by_key
            |> window(5s, 1s, grace = 1s)
            |> aggregate(TradeStats::default, |_ticker, trade, stats| stats.add(trade))
            |> to_stream
            |> map_values(TradeStats::with_avg_price)
            |> to("stockstats-output");
        trades
            |> group_by(|_ticker, _trade| "top3".to_string())
            |> window(1m, grace = 1s)
            |> emit_on_close
            |> aggregate(MinPrices::default, |_, trade, mins| mins.add(trade))
            |> to_stream
            |> map_values(MinPrices::lowest_three)
            |> to("stockstats-top3");
    }
}

/// The seed's tickers.
pub const TICKERS: [&str; 10] = ["MMM", "ABT", "ABBV", "ACN", "ATVI", "AYI", "ADBE", "AAP", "AES", "AET"];

/// A small deterministic generator (xorshift) with normal samples (Box-Muller).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let (u1, u2) = (self.uniform().max(f64::MIN_POSITIVE), self.uniform());
        mean + sd * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// Simulated start: 2024-10-13T00:00:00Z, so windows fall on round minutes.
pub const START_MS: i64 = 1_728_777_600_000;

/// The seed's generator, in simulated event time: one `ASK` trade per ticker per second,
/// price = base + N(1, 0.25²), size uniform in 0..99; every 10th round each base moves by
/// an integer in [-5, +4]. `seconds` rounds from `START_MS`.
pub fn trades(seconds: i64) -> Vec<(i64, Trade)> {
    let mut random = Random(0x5eed_5eed_5eed_5eed);
    let mut bases = [5_000.0f64; 10];
    let mut out = Vec::new();
    for round in 0..seconds {
        if round > 0 && round % 10 == 0 {
            for base in &mut bases {
                *base += (random.next() % 10) as f64 - 5.0;
            }
        }
        for (i, ticker) in TICKERS.iter().enumerate() {
            let price = ((bases[i] + random.normal(1.0, 0.25)) * 100.0).round() / 100.0;
            let size = (random.next() % 100) as i32;
            out.push((
                START_MS + round * 1_000,
                Trade { kind: "ASK".into(), ticker: ticker.to_string(), price, size },
            ));
        }
    }
    out
}

/// Ten simulated minutes (and two seconds, so that the last minute closes), written at once.
pub fn demo(demo: &Demo) {
    for (ts, trade) in trades(602) {
        demo.send::<String, Json<Trade>>(INPUT, trade.ticker.clone(), trade, ts);
    }
}
