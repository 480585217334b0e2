use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in")
            |> group_by_key
            |> reduce(|a, b| format!("{a}{b}"))
            |> to_stream
            |> to("out");
    };
}
