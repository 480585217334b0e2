use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") |> group_by_key |> sliding(5s, 1s) |> count |> to_stream |> to("out");
    };
}
