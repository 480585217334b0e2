use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let = stream::<String, i64>("in");
    };
}
