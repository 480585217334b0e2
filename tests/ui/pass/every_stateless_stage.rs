use serde::{Deserialize, Serialize};
use streams_runtime::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Json)]
struct Reading {
    sensor: String,
    celsius: f64,
}

fn main() {
    let topology = topology! {
        let readings = stream::<String, Json<Reading>>("readings", "more-readings");
        let logs = stream::<(), String>(pattern = "logs-.*", name = "all-logs");

        readings
            |> filter(|_, r| r.celsius.is_finite(), name = "finite")
            |> filter_not(|_, r| r.sensor.is_empty())
            |> peek(|k, r| eprintln!("{k}: {}", r.celsius))
            |> split(hot = |_, r| r.celsius > 40.0, cold = |_, r| r.celsius < 0.0, default = normal);
        hot |> merge(cold) |> to::<String, Json<Reading>>("extremes");
        normal |> map_values(|r| r.celsius) |> to("normal");
        logs
            |> flat_map_values(|line| line.split(' ').map(String::from).collect::<Vec<_>>())
            |> select_key(|_, word| word.clone())
            |> map(|k, v| (k, v.len() as i64))
            |> flat_map(|k, n| vec![(k, n)])
            |> to_dynamic(|k, _| format!("words-{}", k.len()));
        logs |> foreach(|_, _| ());
    };
    assert_eq!(topology.describe().subtopology_count(), 2);
}
