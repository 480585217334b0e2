use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, String>("in")
            |> map_values(|v| if v.len() > 3 { "long" } else { "short" })
            |> group_by(|_, v| *v)
            |> count
            |> to_stream
            |> to("out");
    };
}
