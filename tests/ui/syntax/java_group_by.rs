use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, String>("in") |> groupBy(|_, v| v.clone()) |> count |> to_stream |> to("out");
    };
}
