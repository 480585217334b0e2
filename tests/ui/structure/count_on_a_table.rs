use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        table::<String, String>("profiles") |> count |> to_stream |> to("out");
    };
}
