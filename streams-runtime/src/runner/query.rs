//! Interactive queries of a running application (Kafka's `KafkaStreams.store`,
//! `queryMetadataForKey`, `streamsMetadataForStore`): which instance owns a key's partition,
//! and what this instance's stores hold.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::{KafkaStreams, Shared};
use crate::codec::Codec;
use crate::config::StreamsConfig;
use crate::dsl::Topology;
use crate::error::StreamsError;
use crate::partitioner::partition_for_key;
use crate::state::query::{QueryError, StoreQuery};

/// The key global stores are registered under among the tasks' stores.
pub(crate) const GLOBAL_TASK: (usize, u32) = (usize::MAX, 0);

/// Where an instance answers queries: its `application.server` (Kafka's `HostInfo`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostInfo {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl HostInfo {
    /// Reads `host:port`.
    pub fn parse(text: &str) -> Result<HostInfo, StreamsError> {
        let bad = || StreamsError::Config(format!("`application.server` = `{text}`: expected `host:port`"));
        let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
        let port = port.parse().map_err(|_| bad())?;
        if host.is_empty() {
            return Err(bad());
        }
        Ok(HostInfo { host: host.to_string(), port })
    }
}

impl fmt::Display for HostInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Where a key of a store lives (Kafka's `KeyQueryMetadata`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyQueryMetadata {
    /// The instance whose task owns the key's partition; `None` when no instance does now
    /// (a rebalance), or when the owner set no `application.server`.
    pub active_host: Option<HostInfo>,
    /// The key's partition.
    pub partition: u32,
    /// Whether this instance owns it.
    pub local: bool,
}

/// One instance's share of a store (Kafka's `StreamsMetadata`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamsMetadata {
    /// Its `application.server`, if it set one.
    pub host: Option<HostInfo>,
    /// The stores its tasks hold.
    pub state_store_names: BTreeSet<String>,
    /// The input partitions of its tasks.
    pub topic_partitions: BTreeSet<(String, u32)>,
}

/// A sub-topology's share of the run: its input topics, partition count and stores.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub(crate) subtopology: usize,
    pub(crate) inputs: Vec<String>,
    pub(crate) partitions: u32,
    pub(crate) stores: Vec<String>,
}

/// Input partition → the `application.server` of the instance that owns it (`None` for an
/// owner that announces none).
pub(crate) type OwnerMap = BTreeMap<(String, u32), Option<HostInfo>>;

/// Who owns which input partition, across the instances of the application (on Kafka: the
/// consumer group's members, with the `application.server` each announces); `None` when it
/// cannot be known now.
pub(crate) trait Owners: Send + Sync {
    fn owners(&self) -> Option<OwnerMap>;
}

/// What queries read of a running application; cheap to clone (for the HTTP server).
#[derive(Clone)]
pub(crate) struct Queries {
    pub(crate) topology: Topology,
    pub(crate) config: StreamsConfig,
    pub(crate) shared: Arc<Shared>,
}

impl KafkaStreams {
    pub(crate) fn queries(&self) -> Queries {
        Queries { topology: self.topology.clone(), config: self.config.clone(), shared: self.shared.clone() }
    }

    /// Answers `query` from this instance's stores named `store` (each task's, or the global
    /// table's), in the codecs' JSON form. A key look-up answers from the task that has the
    /// key; ranges and `all` concatenate the tasks' answers, as Kafka's composite stores do.
    pub fn query(&self, store: &str, query: &StoreQuery) -> Result<Value, QueryError> {
        self.queries().query(store, query)
    }

    /// Where `key` of `store` lives, its bytes written by the codec `KC` (Kafka's
    /// `queryMetadataForKey(store, key, keySerializer)`).
    pub fn query_metadata_for_key<KC: Codec>(
        &self,
        store: &str,
        key: &KC::Value,
    ) -> Result<KeyQueryMetadata, QueryError> {
        let bytes =
            KC::encode(key).map_err(|e| QueryError::BadKey { codec: KC::name(), reason: e.to_string() })?;
        self.queries().metadata_for_key_bytes(store, bytes.as_deref().unwrap_or_default())
    }

    /// As [`query_metadata_for_key`](Self::query_metadata_for_key), the key given in the key
    /// codec's JSON form and written by the store's own key codec.
    pub fn query_metadata_for_json_key(
        &self,
        store: &str,
        key: &Value,
    ) -> Result<KeyQueryMetadata, QueryError> {
        self.queries().query_metadata_for_json_key(store, key)
    }

    /// Every instance holding a part of `store` (Kafka's `streamsMetadataForStore`); the
    /// global tables' stores are on every instance.
    pub fn streams_metadata_for_store(&self, store: &str) -> Vec<StreamsMetadata> {
        self.queries().streams_metadata_for_store(store)
    }

    /// Answers a query of one key where it lives: from this instance when it owns the key's
    /// partition, otherwise an error naming the owner.
    pub fn query_key(&self, store: &str, query: &StoreQuery) -> Result<Value, QueryError> {
        self.queries().query_key(store, query)
    }
}

impl Queries {
    /// Answers `query` from this instance's stores named `store` (each task's, or the global
    /// table's), in the codecs' JSON form. A key look-up answers from the task that has the
    /// key; ranges and `all` concatenate the tasks' answers, as Kafka's composite stores do.
    pub(crate) fn query(&self, store: &str, query: &StoreQuery) -> Result<Value, QueryError> {
        let registries = self.shared.stores.lock().unwrap_or_else(|p| p.into_inner());
        let stores: Vec<_> =
            registries.values().flat_map(|r| r.iter().filter(|s| s.name() == store)).collect();
        if stores.is_empty() {
            return Err(QueryError::UnknownStore(store.to_string()));
        }
        match query {
            StoreQuery::Get { .. } => {
                for s in &stores {
                    match s.query(query) {
                        Err(QueryError::NotFound) => continue,
                        answer => return answer,
                    }
                }
                Err(QueryError::NotFound)
            }
            _ => {
                let mut all = Vec::new();
                for s in &stores {
                    match s.query(query)? {
                        Value::Array(rows) => all.extend(rows),
                        other => all.push(other),
                    }
                }
                Ok(Value::Array(all))
            }
        }
    }

    /// As [`query_metadata_for_key`](Self::query_metadata_for_key), the key given in the key
    /// codec's JSON form and written by the store's own key codec.
    pub(crate) fn query_metadata_for_json_key(
        &self,
        store: &str,
        key: &Value,
    ) -> Result<KeyQueryMetadata, QueryError> {
        let bytes = {
            let registries = self.shared.stores.lock().unwrap_or_else(|p| p.into_inner());
            let local =
                registries.values().flat_map(|r| r.iter().filter(|s| s.name() == store)).next().cloned();
            match local {
                Some(s) => s.json_key_bytes(key)?,
                None => self.key_bytes_from_topic_format(store, key)?,
            }
        };
        self.metadata_for_key_bytes(store, bytes.as_deref().unwrap_or_default())
    }

    /// Every instance holding a part of `store` (Kafka's `streamsMetadataForStore`); the
    /// global tables' stores are on every instance.
    pub(crate) fn streams_metadata_for_store(&self, store: &str) -> Vec<StreamsMetadata> {
        let layouts = self.layouts();
        let Some(layout) = layouts.iter().find(|l| l.stores.iter().any(|s| s == store)) else {
            return if self.is_global_store(store) {
                vec![StreamsMetadata {
                    host: self.own_host(),
                    state_store_names: [store.to_string()].into(),
                    topic_partitions: BTreeSet::new(),
                }]
            } else {
                Vec::new()
            };
        };
        let mut by_host: BTreeMap<Option<HostInfo>, BTreeSet<(String, u32)>> = BTreeMap::new();
        let owners = self.current_owners();
        for p in 0..layout.partitions {
            let host = match &owners {
                Some(o) => match o.get(&(layout.inputs[0].clone(), p)) {
                    Some(host) => host.clone(),
                    None => continue,
                },
                None => self.own_host(),
            };
            by_host.entry(host).or_default().extend(layout.inputs.iter().map(|t| (t.clone(), p)));
        }
        by_host
            .into_iter()
            .map(|(host, topic_partitions)| StreamsMetadata {
                host,
                state_store_names: layout.stores.iter().cloned().collect(),
                topic_partitions,
            })
            .collect()
    }

    /// Answers a query of one key where it lives: from this instance when it owns the key's
    /// partition, otherwise an error naming the owner.
    pub(crate) fn query_key(&self, store: &str, query: &StoreQuery) -> Result<Value, QueryError> {
        let key = match query {
            StoreQuery::Get { key } | StoreQuery::Fetch { key, .. } => key,
            _ => return self.query(store, query),
        };
        if self.is_global_store(store) {
            return self.query(store, query);
        }
        let meta = self.query_metadata_for_json_key(store, key)?;
        if !meta.local {
            return Err(match meta.active_host {
                Some(owner) => QueryError::NotLocal { partition: meta.partition, owner: owner.to_string() },
                None => QueryError::Unavailable { partition: meta.partition },
            });
        }
        let layouts = self.layouts();
        let sub = layouts.iter().find(|l| l.stores.iter().any(|s| s == store)).map(|l| l.subtopology);
        let registries = self.shared.stores.lock().unwrap_or_else(|p| p.into_inner());
        let local = sub
            .and_then(|sub| registries.get(&(sub, meta.partition)))
            .and_then(|r| r.iter().find(|s| s.name() == store).cloned());
        drop(registries);
        match local {
            Some(s) => s.query(query),
            None => Err(QueryError::Unavailable { partition: meta.partition }),
        }
    }

    fn metadata_for_key_bytes(&self, store: &str, bytes: &[u8]) -> Result<KeyQueryMetadata, QueryError> {
        if self.is_global_store(store) {
            return Ok(KeyQueryMetadata { active_host: self.own_host(), partition: 0, local: true });
        }
        let layouts = self.layouts();
        let layout = layouts
            .iter()
            .find(|l| l.stores.iter().any(|s| s == store))
            .ok_or_else(|| QueryError::UnknownStore(store.to_string()))?;
        let partition = partition_for_key(bytes, layout.partitions);
        let registered = {
            let registries = self.shared.stores.lock().unwrap_or_else(|p| p.into_inner());
            registries.contains_key(&(layout.subtopology, partition))
        };
        Ok(match self.current_owners() {
            // The embedded cluster: every task is this instance's.
            None => KeyQueryMetadata { active_host: self.own_host(), partition, local: registered },
            Some(owners) => {
                let owner = owners.get(&(layout.inputs[0].clone(), partition)).cloned();
                let mine = registered && owner.as_ref().is_some_and(|o| *o == self.own_host());
                KeyQueryMetadata { active_host: owner.flatten(), partition, local: mine }
            }
        })
    }

    fn key_bytes_from_topic_format(&self, store: &str, key: &Value) -> Result<Option<Vec<u8>>, QueryError> {
        let layouts = self.layouts();
        let layout = layouts
            .iter()
            .find(|l| l.stores.iter().any(|s| s == store))
            .ok_or_else(|| QueryError::UnknownStore(store.to_string()))?;
        let graph = &self.topology.graph;
        let format = layout
            .inputs
            .iter()
            .find_map(|t| {
                let name = t.strip_prefix(&format!("{}-", self.application_id())).unwrap_or(t);
                graph.format(name).or_else(|| graph.format(t))
            })
            .ok_or_else(|| QueryError::UnknownStore(store.to_string()))?;
        (format.key_from_json)(key)
            .map_err(|e| QueryError::BadKey { codec: "the key codec".into(), reason: e.to_string() })
    }

    fn is_global_store(&self, store: &str) -> bool {
        let registries = self.shared.stores.lock().unwrap_or_else(|p| p.into_inner());
        registries.get(&GLOBAL_TASK).is_some_and(|r| r.iter().any(|s| s.name() == store))
    }

    fn application_id(&self) -> String {
        self.config.application_id().unwrap_or_default().to_string()
    }

    /// This instance's `application.server`.
    pub(crate) fn own_host(&self) -> Option<HostInfo> {
        self.config.get("application.server").and_then(|s| HostInfo::parse(s).ok())
    }

    fn layouts(&self) -> Vec<Layout> {
        self.shared.layout.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `None` on the embedded cluster (every task is this instance's); on Kafka, the group's
    /// owners, empty when they cannot be read now.
    fn current_owners(&self) -> Option<OwnerMap> {
        let owners: Option<Arc<dyn Owners>> =
            self.shared.owners.lock().unwrap_or_else(|p| p.into_inner()).clone();
        owners.map(|o| o.owners().unwrap_or_default())
    }
}
