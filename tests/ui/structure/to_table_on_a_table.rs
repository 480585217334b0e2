use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        table::<String, i64>("in") |> to_table |> to_stream |> to("out");
    };
}
