use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, String>("in") |> selectKey(|_, v| v.clone()) |> to("out");
    };
}
