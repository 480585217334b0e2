use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        table::<String, i64>("in") |> map(|k, v| (k, v + 1)) |> to_stream |> to("out");
    };
}
