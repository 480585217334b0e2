use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let views = stream::<i32, String>("views");
        let profiles = table::<i32, String>("profiles");
        profiles |> join(views, |name, view| format!("{name} {view}")) |> to_stream |> to("out");
    };
}
