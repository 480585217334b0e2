use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let done = stream::<String, i64>("in") |> to("out");
    };
}
