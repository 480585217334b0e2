use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        table::<String, String>("a", "b") |> to_stream |> to("out");
    };
}
