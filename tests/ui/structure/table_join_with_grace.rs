use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let users = table::<i32, String>("users");
        stream::<i32, String>("clicks")
            |> join(users, |c, u| format!("{c} {u}"), name = "enrich", grace = 1s, name = "again")
            |> to("out");
    };
}
