use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        table::<String, i64>("in") |> window(5s) |> count |> to_stream |> to("out");
    };
}
