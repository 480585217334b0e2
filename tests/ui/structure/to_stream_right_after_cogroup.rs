use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") |> group_by_key |> cogroup(|_, v, a: i64| a + v) |> to_stream |> to("out");
    };
}
