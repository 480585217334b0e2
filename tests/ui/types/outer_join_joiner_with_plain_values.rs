use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let left = stream::<String, i64>("left");
        let right = stream::<String, i64>("right");
        left |> outer_join(right, within(5s), |a: i64, b: i64| a + b) |> to("out");
    };
}
