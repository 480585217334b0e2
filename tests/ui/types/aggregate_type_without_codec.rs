use streams_runtime::prelude::*;

#[derive(Clone, Default)]
struct Stats {
    count: i64,
}

fn main() {
    let _ = topology! {
        stream::<String, i64>("in")
            |> group_by_key
            |> aggregate(Stats::default, |_, _, s| Stats { count: s.count + 1 })
            |> to_stream
            |> map_values(|s| s.count)
            |> to("out");
    };
}
