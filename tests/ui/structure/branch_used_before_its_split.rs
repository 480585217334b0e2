use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        big |> to("big");
        stream::<String, i64>("in") |> split(big = |_, v| *v > 10, default = small);
        small |> to("small");
    };
}
