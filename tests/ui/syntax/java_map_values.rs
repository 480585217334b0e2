use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") |> mapValues(|v| v + 1) |> to("out");
    };
}
