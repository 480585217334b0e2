use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let left = stream::<String, i64>("left");
        let right = stream::<i64, i64>("right");
        left |> join(right, within(5s), |a, b| a + b) |> to("out");
    };
}
