use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, String>("in") |> fliter(|_, v| !v.is_empty()) |> to("out");
    };
}
