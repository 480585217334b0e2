use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let profiles = table::<String, String>("profiles", versioned = 10m, store = "profiles-by-time")
            |> filter(|_, v| !v.is_empty());
        profiles |> suppress(1s) |> to_stream |> to("out");
    };
}
