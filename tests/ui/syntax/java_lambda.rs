use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") |> map_values(v -> v * 2) |> to("out");
    };
}
