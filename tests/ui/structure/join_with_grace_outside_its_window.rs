use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let clicks = stream::<i32, String>("clicks");
        let searches = stream::<i32, String>("searches");
        clicks |> join(searches, within(1s), |c, s| format!("{c} {s}"), grace = 500ms) |> to("out");
    };
}
