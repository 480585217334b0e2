use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        table::<String, i64>("t") |> repartition |> to_stream |> to("out");
    };
}
