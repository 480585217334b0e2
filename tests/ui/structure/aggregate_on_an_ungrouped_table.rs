use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        table::<String, i64>("in") |> reduce(|a, b| a + b) |> to_stream |> to("out");
    };
}
