use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") |> group_by_key |> count(|v| v) |> to_stream |> to("out");
    };
}
