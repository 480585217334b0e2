use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in")
            |> group_by_key
            |> window(5s, grace = 0s)
            |> count
            |> to_stream
            |> to::<Windowed<String>, i64>("out");
    };
}
