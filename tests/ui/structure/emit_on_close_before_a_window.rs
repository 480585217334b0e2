use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") |> group_by_key |> emit_on_close |> count |> to_stream |> to("out");
    };
}
