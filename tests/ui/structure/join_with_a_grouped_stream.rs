use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let grouped = stream::<String, i64>("a") |> group_by_key;
        stream::<String, i64>("in") |> join(grouped, |a, b| a + b) |> to("out");
    };
}
