use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        table::<String, i64>("in") |> group_by(|k, v| (k.clone(), *v)) |> filter(|_, v| *v > 0) |> count |> to_stream |> to("out");
    };
}
