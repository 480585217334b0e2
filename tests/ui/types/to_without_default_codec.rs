use streams_runtime::prelude::*;

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Stats {
    count: i64,
}

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") |> map_values(|count| Stats { count }) |> to("stats");
    };
}
