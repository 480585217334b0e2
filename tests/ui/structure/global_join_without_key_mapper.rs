use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let users = global_table::<String, String>("users");
        stream::<String, String>("views") |> join(users, |view, user| format!("{view} {user}")) |> to("out");
    };
}
