//! What a run needs before it starts, whatever the cluster: each sub-topology's run-time
//! source topics, the internal topics to create with their partition counts, and the tasks.

use std::collections::BTreeMap;

use crate::error::StreamsError;
use crate::graph::{changelog_topic, resolve_topic, ChangelogKind, Graph, SourceTopics};
use crate::task::whole_match;

/// Which task, and which topic partitions feed it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TaskSpec {
    pub(crate) subtopology: usize,
    pub(crate) partition: u32,
    pub(crate) inputs: Vec<String>,
}

/// A topic the application creates for itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InternalTopic {
    pub(crate) name: String,
    pub(crate) partitions: u32,
    pub(crate) kind: TopicKind,
}

/// What an internal topic is for, which decides its configs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TopicKind {
    Repartition,
    Changelog(ChangelogKind),
}

impl TopicKind {
    /// The topic's configs, as Kafka Streams' `InternalTopicConfig.properties` gives them
    /// (without `topic.*` overrides): a window store's changelog keeps its retention plus
    /// `windowstore.changelog.additional.retention.ms`.
    pub(crate) fn configs(self, additional_retention_ms: i64) -> BTreeMap<String, String> {
        let mut c = BTreeMap::new();
        c.insert("message.timestamp.type".to_string(), "CreateTime".to_string());
        let (policy, retention) = match self {
            TopicKind::Repartition => {
                c.insert("segment.bytes".into(), "52428800".into());
                ("delete", Some(-1))
            }
            TopicKind::Changelog(ChangelogKind::KeyValue) => ("compact", None),
            TopicKind::Changelog(ChangelogKind::Windowed { retention_ms }) => (
                "compact,delete",
                Some(retention_ms.checked_add(additional_retention_ms).unwrap_or(i64::MAX)),
            ),
            TopicKind::Changelog(ChangelogKind::WindowedDuplicates { retention_ms }) => {
                ("delete", Some(retention_ms.checked_add(additional_retention_ms).unwrap_or(i64::MAX)))
            }
            TopicKind::Changelog(ChangelogKind::Versioned { history_retention_ms }) => {
                // `VersionedChangelogTopicConfig`'s additional compaction lag: one day.
                let lag = history_retention_ms.checked_add(24 * 60 * 60 * 1000).unwrap_or(i64::MAX);
                c.insert("min.compaction.lag.ms".into(), lag.to_string());
                ("compact", None)
            }
            TopicKind::Changelog(ChangelogKind::Disabled) => unreachable!("a store without a changelog"),
        };
        c.insert("cleanup.policy".into(), policy.into());
        if let Some(ms) = retention {
            c.insert("retention.ms".into(), ms.to_string());
        }
        c
    }
}

/// Every internal topic of `graph` with its kind: repartition topics, then each task
/// sub-topology's changelogs (the names at run time).
pub(crate) fn internal_topics(graph: &Graph, application_id: &str) -> Vec<(String, TopicKind)> {
    let mut topics: Vec<(String, TopicKind)> = graph
        .internal_topics
        .iter()
        .map(|t| (resolve_topic(&graph.internal_topics, t, application_id), TopicKind::Repartition))
        .collect();
    for sub in (0..graph.subtopologies.len()).filter(|s| !graph.global_groups.contains(s)) {
        for store in graph.logged_stores_of(sub) {
            let kind = TopicKind::Changelog(graph.changelog_kind(&store));
            topics.push((changelog_topic(application_id, &store), kind));
        }
        // Kafka lists a table's source topic among the changelogs when it is one (it is
        // never created: it is an input).
        for store in graph.stores_of(sub).into_iter().filter(|s| graph.is_source_changelog(s)) {
            topics.push((
                graph.changelog(application_id, &store).topic,
                TopicKind::Changelog(ChangelogKind::KeyValue),
            ));
        }
    }
    topics
}

/// The run's layout.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Per sub-topology, the topics it reads (patterns matched against existing topics).
    #[cfg_attr(not(feature = "kafka"), allow(dead_code))]
    pub(crate) sources: Vec<Vec<String>>,
    /// Repartition topics first (in the order their writers depend on), then changelogs.
    pub(crate) internal: Vec<InternalTopic>,
    pub(crate) tasks: Vec<TaskSpec>,
}

/// Lays out a run as Kafka Streams does: repartition topics get the partition count of the
/// sub-topology writing them, changelogs that of their sub-topology; source topics must
/// exist in `existing` (topic → partitions) and be co-partitioned within a sub-topology.
pub(crate) fn plan(
    graph: &Graph,
    application_id: &str,
    existing: &BTreeMap<String, u32>,
) -> Result<Plan, StreamsError> {
    let internal: Vec<String> = graph
        .internal_topics
        .iter()
        .map(|t| resolve_topic(&graph.internal_topics, t, application_id))
        .collect();
    let writers = graph.internal_topic_writers(application_id);
    let sources: Vec<Vec<String>> = (0..graph.subtopologies.len())
        .map(|sub| {
            let mut topics: Vec<String> = graph
                .sources_of(sub)
                .flat_map(|s| match graph.resolved_topics(s, application_id) {
                    SourceTopics::Names(names) => names,
                    SourceTopics::Pattern(p) => {
                        let re = whole_match(&p);
                        existing.keys().filter(|t| re.is_match(t)).cloned().collect()
                    }
                })
                .collect();
            topics.sort();
            topics.dedup();
            topics
        })
        .collect();
    let mut partitions: BTreeMap<String, u32> = BTreeMap::new();
    for topics in &sources {
        for t in topics.iter().filter(|t| !internal.contains(t)) {
            let n = existing.get(t).copied().ok_or_else(|| StreamsError::MissingSourceTopic(t.clone()))?;
            partitions.insert(t.clone(), n);
        }
    }
    // Internal topics in order of their writers (a writer may itself read one); a
    // co-partitioned one as soon as the other topics of its reader are known.
    let copartitioned: Vec<String> = graph
        .copartitioned_topics
        .iter()
        .map(|t| resolve_topic(&graph.internal_topics, t, application_id))
        .collect();
    let mut pending = writers.clone();
    let mut ordered = Vec::new();
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|(topic, writer)| {
            let n = if copartitioned.contains(topic) {
                let Some(reader) = sources.iter().position(|topics| topics.contains(topic)) else {
                    return true;
                };
                let others: Option<Vec<u32>> = sources[reader]
                    .iter()
                    .filter(|t| !copartitioned.contains(t))
                    .map(|t| partitions.get(t).copied())
                    .collect();
                match others {
                    Some(ns) if !ns.is_empty() => ns.into_iter().max(),
                    _ => None,
                }
            } else {
                let known: Option<Vec<u32>> =
                    sources[*writer].iter().map(|t| partitions.get(t).copied()).collect();
                known.map(|ns| {
                    let fixed = graph
                        .repartition_partitions
                        .iter()
                        .find(|(t, _)| resolve_topic(&graph.internal_topics, t, application_id) == *topic);
                    match fixed {
                        Some((_, n)) => *n,
                        None => ns.into_iter().max().unwrap_or(1),
                    }
                })
            };
            match n {
                Some(n) => {
                    partitions.insert(topic.clone(), n);
                    ordered.push(InternalTopic {
                        name: topic.clone(),
                        partitions: n,
                        kind: TopicKind::Repartition,
                    });
                    false
                }
                None => true,
            }
        });
        if pending.len() == before {
            return Err(StreamsError::InvalidTopology(
                "repartition topics depend on each other in a cycle".into(),
            ));
        }
    }
    let mut tasks = Vec::new();
    for (sub, topics) in sources.iter().enumerate() {
        let mut counts = topics.iter().map(|t| (t, partitions[t]));
        let Some((first, n)) = counts.next() else { continue };
        if let Some((other, m)) = counts.find(|(_, m)| *m != n) {
            return Err(StreamsError::NotCopartitioned {
                left: first.clone(),
                left_partitions: n,
                right: other.clone(),
                right_partitions: m,
            });
        }
        for store in graph.logged_stores_of(sub) {
            ordered.push(InternalTopic {
                name: changelog_topic(application_id, &store),
                partitions: n,
                kind: TopicKind::Changelog(graph.changelog_kind(&store)),
            });
        }
        for partition in 0..n {
            tasks.push(TaskSpec { subtopology: sub, partition, inputs: topics.clone() });
        }
    }
    Ok(Plan { sources, internal: ordered, tasks })
}
