use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") |> to("out")
        stream::<String, i64>("more") |> to("out");
    };
}
