use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let views = stream::<i32, String>("views");
        let clicks = stream::<i32, String>("clicks");
        views |> to("out");
    };
}
