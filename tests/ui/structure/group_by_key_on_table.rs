use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        table::<String, i64>("in") |> group_by_key |> count |> to_stream |> to("out");
    };
}
