use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") |> split(branch(big, |_, v| *v > 10), default(small));
        big |> to("big");
        small |> to("small");
    };
}
