use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let views = stream::<i32, String>("views");
        let profiles = table::<String, String>("profiles");
        views |> join(profiles, |view, name| format!("{view} {name}")) |> to("out");
    };
}
