use streams_runtime::prelude::*;

fn main() {
    let topology = topology! {
        let events = stream::<String, i64>("events");
        events |> group_by_key |> window(5s, 1s, grace = 1s) |> count |> to_stream |> to("hopping");
        events |> group_by_key |> window(1m, grace = 0s) |> emit_on_close |> reduce(|a, b| a + b) |> to_stream |> to("tumbling");
        events |> group_by_key |> sliding(10s, grace = 2s) |> aggregate(|| 0i64, |_, v, s| s + v) |> to_stream |> to("sliding");
        events
            |> group_by_key
            |> session(30s, grace = 5s)
            |> aggregate(|| 0i64, |_, v, s| s + v, |_, a, b| a + b)
            |> to_stream
            |> to("sessions");
    };
    assert_eq!(topology.describe().subtopology_count(), 1);
}
