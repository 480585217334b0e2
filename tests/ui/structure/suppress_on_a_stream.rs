use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") |> suppress(1s) |> to("out");
    };
}
