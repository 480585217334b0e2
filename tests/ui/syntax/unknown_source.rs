use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        kstream::<String, String>("in") |> to("out");
    };
}
