//! Interactive queries over HTTP (axum, behind the `http` feature): any instance answers any
//! key, redirecting to the instance that owns it.
//!
//! ```text
//! GET /stores/{store}/keys/{key}                      a key-value store's value of a key
//! GET /stores/{store}/keys/{key}/windows?from=&to=    a window store's windows of a key (ms),
//!                                                     a session store's sessions of a key
//! GET /stores/{store}/keys/{key}/metadata             where a key lives
//! GET /stores/{store}/range?from=&to=                 this instance's entries between two keys
//! GET /stores/{store}/all                             this instance's entries
//! GET /stores/{store}/metadata                        which instance holds which partitions
//! ```
//!
//! Keys are written as the key codec's JSON form: a path segment is tried as a JSON string
//! first (`/keys/kafka` for a `String` key), then as JSON (`/keys/42` for an `i64` key).
//! A key owned by another instance is answered with `307 Temporary Redirect` to that
//! instance's `application.server` (clients that follow redirects get the answer), a key no
//! instance owns now with `503`.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::query::{HostInfo, KeyQueryMetadata, Queries, StreamsMetadata};
use super::KafkaStreams;
use crate::state::query::{QueryError, StoreQuery};

/// The query endpoint of a running application; stops when dropped.
pub struct QueryServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl QueryServer {
    /// Where it listens (the port chosen when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for QueryServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl KafkaStreams {
    /// Serves interactive queries over HTTP at `addr` (see [`crate::runner::http`]) until the
    /// returned server is dropped. Other instances find this one through its
    /// `application.server`, which should name this address as they can reach it.
    pub fn serve_queries(&self, addr: &str) -> std::io::Result<QueryServer> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let app = router(self.queries());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let thread = std::thread::Builder::new().name("streams-queries".into()).spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                    let _ = stopped.await;
                });
                if let Err(e) = serving.await {
                    tracing::warn!(error = %e, "the query endpoint stopped");
                }
            })
        })?;
        Ok(QueryServer { addr: local, stop: Some(stop), thread: Some(thread) })
    }
}

fn router(queries: Queries) -> Router {
    Router::new()
        .route("/stores/{store}/keys/{key}", get(get_key))
        .route("/stores/{store}/keys/{key}/windows", get(fetch_key))
        .route("/stores/{store}/keys/{key}/metadata", get(key_metadata))
        .route("/stores/{store}/range", get(range))
        .route("/stores/{store}/all", get(all))
        .route("/stores/{store}/metadata", get(store_metadata))
        .with_state(queries)
}

/// A key from a path segment or a query parameter: a JSON string if the store's key codec
/// takes it, else the text read as JSON.
fn key_forms(text: &str) -> Vec<Value> {
    let mut forms = vec![Value::String(text.to_string())];
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        if !v.is_string() {
            forms.push(v);
        }
    }
    forms
}

/// Runs `f` with each form of the key until the key codec takes one.
fn with_key<T>(text: &str, mut f: impl FnMut(Value) -> Result<T, QueryError>) -> Result<T, QueryError> {
    let mut last = None;
    for form in key_forms(text) {
        match f(form) {
            Err(e @ QueryError::BadKey { .. }) => last = Some(e),
            other => return other,
        }
    }
    Err(last.expect("at least one form"))
}

async fn get_key(State(q): State<Queries>, Path((store, key)): Path<(String, String)>, uri: Uri) -> Response {
    let answer = with_key(&key, |k| q.query_key(&store, &StoreQuery::Get { key: k.clone() }).map(|v| (k, v)));
    match answer {
        Ok((key, value)) => Json(json!({"key": key, "value": value})).into_response(),
        Err(e) => error_response(e, &uri),
    }
}

async fn fetch_key(
    State(q): State<Queries>,
    Path((store, key)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    uri: Uri,
) -> Response {
    let time = |name: &str, default: i64| -> Result<i64, String> {
        params.get(name).map_or(Ok(default), |t| {
            t.parse().map_err(|_| format!("`{name}` must be a time in ms, not `{t}`"))
        })
    };
    let (from, to) = match (time("from", 0), time("to", i64::MAX)) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(m), _) | (_, Err(m)) => return bad_request(m),
    };
    let answer = with_key(&key, |k| q.query_key(&store, &StoreQuery::Fetch { key: k, from, to }));
    match answer {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => error_response(e, &uri),
    }
}

async fn key_metadata(
    State(q): State<Queries>,
    Path((store, key)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    match with_key(&key, |k| q.query_metadata_for_json_key(&store, &k)) {
        Ok(meta) => Json(key_metadata_json(&meta)).into_response(),
        Err(e) => error_response(e, &uri),
    }
}

async fn range(
    State(q): State<Queries>,
    Path(store): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    uri: Uri,
) -> Response {
    // Each bound in the first form the key codec takes (tried on the whole query).
    let bound = |name: &str| params.get(name).map(|t| key_forms(t));
    let (froms, tos) = (bound("from"), bound("to"));
    let mut last = None;
    for from in froms.clone().map_or(vec![None], |f| f.into_iter().map(Some).collect()) {
        for to in tos.clone().map_or(vec![None], |t| t.into_iter().map(Some).collect()) {
            match q.query(&store, &StoreQuery::Range { from: from.clone(), to }) {
                Ok(rows) => return Json(rows).into_response(),
                Err(e @ QueryError::BadKey { .. }) => last = Some(e),
                Err(e) => return error_response(e, &uri),
            }
        }
    }
    error_response(last.expect("tried at least once"), &uri)
}

async fn all(
    State(q): State<Queries>,
    Path(store): Path<String>,
    uri: Uri,
    RawQuery(_): RawQuery,
) -> Response {
    match q.query(&store, &StoreQuery::All) {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => error_response(e, &uri),
    }
}

async fn store_metadata(State(q): State<Queries>, Path(store): Path<String>) -> Response {
    let all: Vec<Value> = q.streams_metadata_for_store(&store).iter().map(streams_metadata_json).collect();
    if all.is_empty() {
        return error_response(QueryError::UnknownStore(store), &Uri::from_static("/"));
    }
    Json(all).into_response()
}

fn host_json(host: &Option<HostInfo>) -> Value {
    host.as_ref().map_or(Value::Null, |h| Value::String(h.to_string()))
}

fn key_metadata_json(meta: &KeyQueryMetadata) -> Value {
    json!({"host": host_json(&meta.active_host), "partition": meta.partition, "local": meta.local})
}

fn streams_metadata_json(meta: &StreamsMetadata) -> Value {
    json!({
        "host": host_json(&meta.host),
        "stores": meta.state_store_names,
        "partitions": meta.topic_partitions.iter().map(|(t, p)| json!({"topic": t, "partition": p})).collect::<Vec<_>>(),
    })
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response()
}

/// An error as a status and a JSON body; a key owned elsewhere redirects there.
fn error_response(e: QueryError, uri: &Uri) -> Response {
    let status = match &e {
        QueryError::NotLocal { owner, partition } => {
            let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
            let location = format!("http://{owner}{path}");
            let body = json!({"error": e.to_string(), "owner": owner, "partition": partition});
            return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, location)], Json(body))
                .into_response();
        }
        QueryError::UnknownStore(_) | QueryError::NotFound => StatusCode::NOT_FOUND,
        QueryError::BadKey { .. } | QueryError::Unsupported { .. } => StatusCode::BAD_REQUEST,
        QueryError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, Json(json!({"error": e.to_string()}))).into_response()
}
