use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        global_table::<String, i64>("g") |> to_stream |> to("out");
    };
}
