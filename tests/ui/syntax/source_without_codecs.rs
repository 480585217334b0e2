use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream("in") |> to("out");
    };
}
