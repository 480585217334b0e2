//! Sensor alerts: a stateless topology (filter, map_values, split, merge, two sinks) run on
//! the `TestDriver` with a few readings. `cargo run --example alerts`.

use serde::{Deserialize, Serialize};
use streams_runtime::prelude::*;

/// A temperature reading, as JSON on `sensor-readings`.
#[derive(Debug, Clone, Serialize, Deserialize, Json)]
struct Reading {
    sensor: String,
    celsius: f64,
}

/// An alert, as JSON on `alerts`.
#[derive(Debug, Clone, Serialize, Deserialize, Json)]
struct Alert {
    sensor: String,
    level: String,
    celsius: f64,
}

fn topology() -> Topology {
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
    hot.merge(cold).to("alerts");
    by_level.take("normal").map_values(|r| r.celsius).to("normal-readings");
    b.build()
}

fn main() {
    let topology = topology();
    if std::env::args().any(|a| a == "--describe=mermaid") {
        print!("{}", topology.describe().to_mermaid());
        return;
    }
    eprint!("{}", topology.describe());
    let driver = TestDriver::new(topology).with_partitions(2);
    let readings = driver.input::<String, Json<Reading>>("sensor-readings");
    let demo = [("kitchen", 21.5), ("furnace", 612.0), ("freezer", -18.0), ("garden", 39.9), ("attic", 41.0)];
    for (i, (sensor, celsius)) in demo.into_iter().enumerate() {
        readings.pipe(sensor.to_string(), Reading { sensor: sensor.to_string(), celsius }, 1_000 * i as i64);
    }
    for (key, alert, ts) in driver.output::<String, Json<Alert>>("alerts").read_all() {
        println!("alerts          {key:<8} {:<4} {:>6.1} °C at {ts} ms", alert.level, alert.celsius);
    }
    for (key, celsius, ts) in driver.output::<String, f64>("normal-readings").read_all() {
        println!("normal-readings {key:<8}      {celsius:>6.1} °C at {ts} ms");
    }
}
