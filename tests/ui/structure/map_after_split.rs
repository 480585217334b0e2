use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") |> split(pos = |_, v| *v > 0, default = rest) |> map_values(|v| v + 1) |> to("out");
    };
}
