use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") |> filter(|_, v| if *v > 0 { Some(*v) } else { None }) |> to("out");
    };
}
