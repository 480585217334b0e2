//! Sensor alerts: a stateless topology (filter, split, map_values, merge, two sinks).

use serde::{Deserialize, Serialize};
use streams_runtime::cli::Demo;
use streams_runtime::prelude::*;

/// The readings.
pub const INPUT: &str = "sensor-readings";
/// Hot and cold readings.
pub const ALERTS: &str = "alerts";
/// The other readings, as degrees.
pub const NORMAL: &str = "normal-readings";

/// A temperature reading, as JSON on `sensor-readings`.
#[derive(Debug, Clone, Serialize, Deserialize, Json)]
pub struct Reading {
    /// Where it was read.
    pub sensor: String,
    /// Degrees Celsius.
    pub celsius: f64,
}

/// An alert, as JSON on `alerts`.
#[derive(Debug, Clone, Serialize, Deserialize, Json)]
pub struct Alert {
    /// Where.
    pub sensor: String,
    /// `hot` or `cold`.
    pub level: String,
    /// Degrees Celsius.
    pub celsius: f64,
}

/// Readings split by level: hot and cold ones become alerts, normal ones go on as numbers.
pub fn topology() -> Topology {
    let b = StreamsBuilder::new();
    let mut by_level = b
        .stream::<String, Json<Reading>>("sensor-readings")
        .filter(|_, r| r.celsius.is_finite())
        .split()
        .branch("hot", |_, r| r.celsius >= 40.0)
        .branch("cold", |_, r| r.celsius <= -10.0)
        .default_branch("normal");
    let hot = by_level.take("hot").map_values(|r| Alert {
        sensor: r.sensor,
        level: "hot".into(),
        celsius: r.celsius,
    });
    let cold = by_level.take("cold").map_values(|r| Alert {
        sensor: r.sensor,
        level: "cold".into(),
        celsius: r.celsius,
    });
    hot.merge(cold).to(ALERTS);
    by_level.take("normal").map_values(|r| r.celsius).to(NORMAL);
    b.build()
}

/// A few readings, one a second: one hot, one cold, the others normal.
pub fn demo(d: &Demo) {
    let readings =
        [("kitchen", 21.5), ("furnace", 612.0), ("freezer", -18.0), ("garden", 39.9), ("attic", 41.0)];
    for (i, (sensor, celsius)) in readings.into_iter().enumerate() {
        let reading = Reading { sensor: sensor.to_string(), celsius };
        d.send::<String, Json<Reading>>(INPUT, sensor.to_string(), reading, 1_000 * i as i64);
    }
}
