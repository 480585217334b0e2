use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        #![optimization = "merge.repartitions"]
        stream::<String, i64>("in") |> select_key(|_, v| *v) |> group_by_key |> count |> to_stream |> to("out");
    };
}
