use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let clicks = stream::<String, String>("clicks");
        let users = table::<String, String>("users");
        clicks |> left_join(users, |click, user: String| format!("{click} {user}")) |> to("out");
    };
}
