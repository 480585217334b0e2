use streams_runtime::prelude::*;

fn main() {
    let topology = topology! {
        let clicks = stream::<i32, String>("clicks");
        let searches = stream::<i32, String>("searches");
        let names = table::<i32, String>("names");
        let zips = table::<i32, String>("zips");
        clicks
            |> join(names, |click, name| format!("{click} by {name}"))
            |> outer_join(searches, within(2s, grace = 1s), |c, s| format!("{c:?} {s:?}"))
            |> to("enriched");
        names |> left_join(zips, |name, zip| format!("{name} {zip:?}")) |> to_stream |> to("addresses");
    };
    assert!(topology.describe().subtopology_count() >= 1);
}
