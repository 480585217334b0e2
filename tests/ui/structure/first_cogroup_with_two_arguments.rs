use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let clicks = stream::<String, i64>("clicks") |> group_by_key;
        stream::<String, i64>("in")
            |> group_by_key
            |> cogroup(clicks, |_, v, acc: i64| acc + v)
            |> aggregate(|| 0i64)
            |> to_stream
            |> to("out");
    };
}
