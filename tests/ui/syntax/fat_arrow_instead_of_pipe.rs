use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, i64>("in") => filter(|_, v| *v > 0) => to("out");
    };
}
