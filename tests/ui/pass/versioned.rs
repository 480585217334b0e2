use streams_runtime::prelude::*;

fn main() {
    let topology = topology! {
        let profiles = table::<String, String>("profiles", versioned = 10m, store = "profiles-by-time")
            |> map_values(|v| v.to_uppercase());
        stream::<String, String>("clicks") |> join(profiles, |click, profile| format!("{click} by {profile}")) |> to("out");
        stream::<String, String>("views")
            |> left_join(profiles, |view, profile| format!("{view} by {profile:?}"), grace = 5s)
            |> to("views-out");
    };
    assert!(topology.describe().to_string().contains("profiles-by-time"));
    assert!(topology.describe().to_string().contains("KSTREAM-LEFTJOIN-0000000007-Buffer"), "{}", topology.describe());
}
