use streams_runtime::prelude::*;

#[derive(Clone, serde::Deserialize)]
struct Trade {
    price: f64,
}

fn main() {
    let _ = topology! {
        stream::<String, Trade>("trades") |> filter(|_, t| t.price > 0.0) |> to("out");
    };
}
