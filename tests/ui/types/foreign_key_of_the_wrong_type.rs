use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let customers = table::<String, String>("customers");
        table::<String, i64>("orders")
            |> join(customers, |customer_id| *customer_id, |order, name| format!("{order} {name}"))
            |> to_stream
            |> to("out");
    };
}
