use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let a = stream::<String, i64>("a");
        table::<String, i64>("in") |> merge(a) |> to_stream |> to("out");
    };
}
