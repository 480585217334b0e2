use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        table::<String, i64>("in") |> select_key(|_, v| *v) |> to_stream |> to("out");
    };
}
