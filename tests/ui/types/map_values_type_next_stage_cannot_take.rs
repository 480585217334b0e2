use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, String>("in")
            |> map_values(|v| v.len())
            |> filter(|_, v| v.starts_with("a"))
            |> to("out");
    };
}
