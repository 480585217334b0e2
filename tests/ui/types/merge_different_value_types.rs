use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let numbers = stream::<String, i64>("numbers");
        let words = stream::<String, String>("words");
        numbers |> merge(words) |> to("out");
    };
}
