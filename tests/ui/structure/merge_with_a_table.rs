use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let t = table::<String, i64>("t");
        stream::<String, i64>("in") |> merge(t) |> to("out");
    };
}
