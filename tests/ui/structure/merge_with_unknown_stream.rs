use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let left = stream::<String, i64>("left");
        left |> merge(rihgt) |> to("out");
    };
}
