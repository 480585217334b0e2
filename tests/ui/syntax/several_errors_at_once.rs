use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, String>("a") |> mapvalues(|v| v) |> to("out");
        stream::<String, String>("b") |> filter |> to("out");
    };
}
