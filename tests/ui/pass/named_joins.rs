use streams_runtime::prelude::*;

fn main() {
    let _ = topology! {
        let users = table::<i32, String>("users");
        let searches = stream::<i32, String>("searches");
        stream::<i32, String>("clicks")
            |> join(users, |c, u| format!("{c} {u}"), name = "enrich")
            |> join(searches, within(1s, grace = 500ms), |c, s| format!("{c} {s}"), name = "clicks-searches")
            |> to("out");
    };
}
