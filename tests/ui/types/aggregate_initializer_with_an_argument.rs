use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in")
            |> group_by_key
            |> aggregate(|k: &String| 0i64, |_, v, sum| sum + v)
            |> to_stream
            |> to("out");
    };
}
