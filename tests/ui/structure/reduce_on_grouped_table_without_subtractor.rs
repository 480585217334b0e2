use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        table::<String, i64>("balances")
            |> group_by(|_, v| ("all".to_string(), *v))
            |> reduce(|a, b| a + b)
            |> to_stream
            |> to("total");
    };
}
