use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let views = stream::<String, String>("views");
        let clicks = stream::<String, String>("clicks");
        views |> join(clicks, 10s, |view, click| format!("{view} {click}")) |> to("out");
    };
}
