use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let views = stream::<i32, String>("views");
        let views = stream::<i32, String>("more-views");
        views |> to("out");
    };
}
