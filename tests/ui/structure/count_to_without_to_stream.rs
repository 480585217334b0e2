use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, String>("in") |> group_by_key |> count |> to("out");
    };
}
