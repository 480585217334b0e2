use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        table::<String, i64>("in") |> suppress |> to_stream |> to("out");
    };
}
