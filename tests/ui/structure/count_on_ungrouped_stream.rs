use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, String>("in") |> count |> to_stream |> to("out");
    };
}
