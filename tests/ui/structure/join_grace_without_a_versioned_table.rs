use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let profiles = table::<String, String>("profiles");
        let users = table::<String, String>("users", versioned = 10m, store = "users-by-time");
        stream::<String, String>("clicks") |> join(profiles, |c, p| format!("{c}{p}"), grace = 1s) |> to("a");
        users |> join(profiles, |u, p| format!("{u}{p}"), grace = 1s) |> to_stream |> to("b");
    };
}
