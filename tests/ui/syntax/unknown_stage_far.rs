use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, String>("in") |> uppercase |> to("out");
    };
}
