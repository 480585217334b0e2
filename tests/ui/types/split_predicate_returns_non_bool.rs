use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") |> split(big = |_, v| *v, default = small);
        big |> to("big");
        small |> to("small");
    };
}
