use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, String>("in") |> map_values(|v| v, nmae = "upper") |> to("out");
    };
}
