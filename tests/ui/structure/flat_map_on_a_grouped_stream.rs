use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, String>("in") |> group_by_key |> flat_map_values(|v| vec![v]) |> count |> to_stream |> to("out");
    };
}
