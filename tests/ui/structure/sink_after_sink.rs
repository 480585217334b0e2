use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, String>("in") |> to("out") |> to("other");
    };
}
