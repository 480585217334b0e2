use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") |> map(|_k, v| v + 1) |> to("out");
    };
}
