use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") |> split(big = |_, v| *v > 9, default = |_, _| true);
    };
}
