use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let customers = table::<String, String>("customers");
        table::<String, String>("orders")
            |> outer_join(customers, |customer| customer.clone(), |order, name| format!("{order:?} {name:?}"))
            |> to_stream
            |> to("out");
    };
}
