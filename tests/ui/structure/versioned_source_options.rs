use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        stream::<String, String>("clicks", versioned = 10m, store = "clicks") |> to("a");
        table::<String, String>("profiles", versioned = 10m) |> to_stream |> to("b");
        table::<String, String>("users", store = "users") |> to_stream |> to("c");
    };
}
