use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") |> repartition(partitions = 0) |> to("out");
    };
}
