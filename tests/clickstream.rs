//! The clickstream example's golden output for the seed's script, on the test driver and
//! from the command line.

use examples::clickstream::{self, Event, PageView, Search, UserActivity, UserProfile};
use streams_runtime::prelude::*;

fn golden() -> Vec<(i32, String, String, i64)> {
    let e = |id: i32, term: &str, page: &str, t: i64| {
        (id, term.to_string(), page.to_string(), clickstream::START_MS + t)
    };
    vec![
        e(1, "retro wetsuit", "collections/mens-wetsuits/products/w3-worlds-warmest-wetsuit", 20),
        e(2, "light jacket", "product/womens-dirt-craft-bike-mountain-biking-jacket", 21),
        e(2, "light jacket", "/product/womens-ultralight-down-jacket", 22),
        e(2, "carbon ski boots", "product/salomon-quest-access-custom-heat-ski-boots-womens", 5_010),
        e(2, "carbon ski boots", "product/nordica-nxt-75-ski-boots-womens", 5_011),
        e(-1, "", "product/osprey-atmos-65-ag-pack", 5_012),
    ]
}

#[test]
fn golden_clickstream_on_the_test_driver() {
    let driver = TestDriver::new(clickstream::topology());
    let (views, searches, profiles) = (
        driver.input::<i32, Json<PageView>>(clickstream::VIEWS),
        driver.input::<i32, Json<Search>>(clickstream::SEARCHES),
        driver.input::<i32, Json<UserProfile>>(clickstream::PROFILES),
    );
    for event in clickstream::script() {
        match event {
            Event::Profile(t, p) => profiles.pipe(p.user_id, p, clickstream::START_MS + t),
            Event::Search(t, s) => searches.pipe(s.user_id, s, clickstream::START_MS + t),
            Event::View(t, v) => views.pipe(v.user_id, v, clickstream::START_MS + t),
        }
    }
    let out: Vec<(i32, UserActivity, i64)> =
        driver.output::<i32, Json<UserActivity>>(clickstream::ACTIVITY).read_all();
    let summary: Vec<(i32, String, String, i64)> =
        out.iter().map(|(k, a, ts)| (*k, a.search_term.clone(), a.page.clone(), *ts)).collect();
    assert_eq!(summary, golden());
    // Anna's move is seen by her views; the unknown user keeps its id and has no profile.
    assert_eq!(out[1].1.zipcode.as_deref(), Some("94303"));
    assert_eq!(out[1].1.interests, vec!["Ski".to_string(), "stream processing".to_string()]);
    assert_eq!((out[5].1.user_id, out[5].1.user_name.as_ref()), (-1, None));
}

#[test]
fn golden_clickstream_from_the_command_line_as_json() {
    let mut out = Vec::new();
    let code = streams_runtime::cli::run_with_args_to(
        "clickstream",
        clickstream::topology(),
        clickstream::demo,
        ["clickstream", "--partitions", "2"],
        &mut out,
    );
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let mut lines: Vec<serde_json::Value> =
        String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    lines.sort_by_key(|l| l["timestamp"].as_i64());
    let summary: Vec<(i32, String, String, i64)> = lines
        .iter()
        .map(|l| {
            let v = &l["value"];
            (
                l["key"].as_i64().unwrap() as i32,
                v["searchTerm"].as_str().unwrap().into(),
                v["page"].as_str().unwrap().into(),
                l["timestamp"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(summary, golden());
    assert_eq!(lines[0]["value"]["userName"], "Matthias");
    assert!(lines[0]["value"].get("userId").is_some(), "field names as the seed's Java");
}
