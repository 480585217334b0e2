use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let t = table::<String, i64>("t");
        stream::<String, i64>("in")
            |> group_by_key
            |> cogroup(|_, v, acc: i64| acc + v)
            |> cogroup(t, |_, v, acc| acc + v)
            |> aggregate(|| 0i64)
            |> to_stream
            |> to("out");
    };
}
