use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in")
            |> group_by_key
            |> session(30s, grace = 0s)
            |> emit_on_close
            |> count
            |> to_stream
            |> to("out");
    };
}
