use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") |> peek(|k: String, v: i64| println!("{k} {v}")) |> to("out");
    };
}
