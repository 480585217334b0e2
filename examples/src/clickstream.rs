//! Clickstream enrichment (the seed's section 1.3): page views left-joined with the
//! user-profile table, then left-joined with the searches made in the one second *before*
//! the click (the book's intent; its own `before(0)` kept searches after the click).

use serde::{Deserialize, Serialize};
use streams_runtime::cli::Demo;
use streams_runtime::prelude::*;

/// Page views.
pub const VIEWS: &str = "clicks.pages.views";
/// Searches.
pub const SEARCHES: &str = "clicks.search";
/// User profiles (a table).
pub const PROFILES: &str = "clicks.user.profile";
/// Enriched activity.
pub const ACTIVITY: &str = "clicks.user.activity";

/// A page view, with the seed's JSON field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Json)]
pub struct PageView {
    /// The user.
    #[serde(rename = "userID")]
    pub user_id: i32,
    /// The page.
    pub page: String,
}

/// A search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Json)]
pub struct Search {
    /// The user.
    #[serde(rename = "userID")]
    pub user_id: i32,
    /// What they searched for.
    #[serde(rename = "searchTerms")]
    pub search_terms: String,
}

/// A user profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Json)]
pub struct UserProfile {
    /// The user.
    #[serde(rename = "userID")]
    pub user_id: i32,
    /// Name.
    #[serde(rename = "userName")]
    pub user_name: String,
    /// Zip code.
    pub zipcode: String,
    /// Interests.
    pub interests: Vec<String>,
}

/// A view enriched with its user's profile and their last search before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Json)]
#[serde(rename_all = "camelCase")]
pub struct UserActivity {
    /// The user (an unknown user keeps its own id).
    pub user_id: i32,
    /// Name, if the user is known.
    pub user_name: Option<String>,
    /// Zip code, if known.
    pub zipcode: Option<String>,
    /// Interests, if known.
    pub interests: Vec<String>,
    /// The search made in the second before the view, or empty.
    pub search_term: String,
    /// The page viewed.
    pub page: String,
}

impl UserActivity {
    /// A view joined with its user's profile, if any.
    pub fn from_view(view: PageView, profile: Option<UserProfile>) -> Self {
        UserActivity {
            user_id: profile.as_ref().map_or(view.user_id, |p| p.user_id),
            user_name: profile.as_ref().map(|p| p.user_name.clone()),
            zipcode: profile.as_ref().map(|p| p.zipcode.clone()),
            interests: profile.map(|p| p.interests).unwrap_or_default(),
            search_term: String::new(),
            page: view.page,
        }
    }

    /// The activity with the search that preceded it, if any.
    pub fn with_search(mut self, search: Option<Search>) -> Self {
        if let Some(search) = search {
            self.search_term = search.search_terms;
        }
        self
    }
}

/// The topology.
pub fn topology() -> Topology {
    topology! {
        let views = stream::<i32, Json<PageView>>("clicks.pages.views");
        let searches = stream::<i32, Json<Search>>("clicks.search");
        let profiles = table::<i32, Json<UserProfile>>("clicks.user.profile");

        views
            |> left_join(profiles, UserActivity::from_view)
            |> left_join(searches, within(1s, after = 0s, grace = 0s), UserActivity::with_search)
            |> to("clicks.user.activity");
    }
}

/// Simulated start (2024-10-13T00:00:00Z).
pub const START_MS: i64 = 1_728_777_600_000;

fn profile(id: i32, name: &str, zip: &str, interests: &[&str]) -> UserProfile {
    UserProfile {
        user_id: id,
        user_name: name.into(),
        zipcode: zip.into(),
        interests: interests.iter().map(|s| s.to_string()).collect(),
    }
}

/// The seed's script, with explicit timestamps (ms from `START_MS`).
pub enum Event {
    /// A profile update.
    Profile(i64, UserProfile),
    /// A search.
    Search(i64, Search),
    /// A page view.
    View(i64, PageView),
}

/// The script: profiles (Anna moves), two searches, three views; five seconds later a
/// search, two views and a view by an unknown user; then, ten seconds in, one more search
/// by each of these users (matching no view), so that stream time passes every join window
/// in every partition (stream time is per task, as in Kafka Streams).
pub fn script() -> Vec<Event> {
    let search = |t, id, terms: &str| Event::Search(t, Search { user_id: id, search_terms: terms.into() });
    let view = |t, id, page: &str| Event::View(t, PageView { user_id: id, page: page.into() });
    vec![
        Event::Profile(0, profile(1, "Matthias", "94301", &["Surfing", "Hiking"])),
        Event::Profile(1, profile(2, "Anna", "94302", &["Ski", "Dancing"])),
        Event::Profile(2, profile(2, "Anna", "94303", &["Ski", "stream processing"])),
        search(10, 1, "retro wetsuit"),
        search(11, 2, "light jacket"),
        view(20, 1, "collections/mens-wetsuits/products/w3-worlds-warmest-wetsuit"),
        view(21, 2, "product/womens-dirt-craft-bike-mountain-biking-jacket"),
        view(22, 2, "/product/womens-ultralight-down-jacket"),
        search(5_000, 2, "carbon ski boots"),
        view(5_010, 2, "product/salomon-quest-access-custom-heat-ski-boots-womens"),
        view(5_011, 2, "product/nordica-nxt-75-ski-boots-womens"),
        view(5_012, -1, "product/osprey-atmos-65-ag-pack"),
        search(10_000, 1, "(time passes)"),
        search(10_000, 2, "(time passes)"),
        search(10_000, -1, "(time passes)"),
    ]
}

/// Writes the script into the cluster.
pub fn demo(demo: &Demo) {
    for event in script() {
        match event {
            Event::Profile(t, p) => demo.send::<i32, Json<UserProfile>>(PROFILES, p.user_id, p, START_MS + t),
            Event::Search(t, s) => demo.send::<i32, Json<Search>>(SEARCHES, s.user_id, s, START_MS + t),
            Event::View(t, v) => demo.send::<i32, Json<PageView>>(VIEWS, v.user_id, v, START_MS + t),
        }
    }
}
