//! Kafka Streams' topology optimizations (`topology.optimization`), run over the graph
//! before it is frozen, as `InternalStreamsBuilder.optimizeTopology` runs them over its
//! graph before writing the physical topology.
//!
//! The description nodes are rewired here; the typed pieces (the merged repartition's codecs,
//! its outlets) are lowered by a function each repartition left when the builder added it.

use std::any::TypeId;
use std::sync::Arc;

use super::{GraphBuilder, OutletId};
use crate::error::StreamsError;

/// Which of Kafka Streams' optimizations a topology is built with (`topology.optimization`:
/// `none`, the default; `all`; or a comma-separated list of the rules).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Optimizations {
    /// `reuse.ktable.source.topics`: a table read from a topic is restored from that topic,
    /// with no changelog topic of its own.
    pub reuse_source_topics: bool,
    /// `merge.repartition.topics`: the repartitions after one key change become one topic.
    pub merge_repartitions: bool,
    /// `single.store.self.join`: a stream joined with itself keeps one window store.
    pub single_store_self_join: bool,
}

impl Optimizations {
    /// No optimization (Kafka's default, `topology.optimization=none`).
    pub const NONE: Optimizations = Optimizations {
        reuse_source_topics: false,
        merge_repartitions: false,
        single_store_self_join: false,
    };

    /// `topology.optimization=all`.
    pub const ALL: Optimizations =
        Optimizations { reuse_source_topics: true, merge_repartitions: true, single_store_self_join: true };

    /// Only `merge.repartition.topics`.
    pub const MERGE_REPARTITION_TOPICS: Optimizations =
        Optimizations { merge_repartitions: true, ..Optimizations::NONE };

    /// Only `reuse.ktable.source.topics`.
    pub const REUSE_KTABLE_SOURCE_TOPICS: Optimizations =
        Optimizations { reuse_source_topics: true, ..Optimizations::NONE };

    /// Reads a `topology.optimization` value as Kafka's
    /// `StreamsConfig.verifyTopologyOptimizationConfigs` does: `all` or `none` alone, or a
    /// list of `reuse.ktable.source.topics`, `merge.repartition.topics` and
    /// `single.store.self.join`.
    ///
    /// # Errors
    /// Any other value, or `all`/`none` in a list.
    pub fn parse(value: &str) -> Result<Optimizations, StreamsError> {
        let invalid = |why: &str| {
            StreamsError::Config(format!(
                "topology.optimization: {why} (got `{value}`); write `all`, `none`, or a comma-separated \
                 list of reuse.ktable.source.topics, merge.repartition.topics, single.store.self.join"
            ))
        };
        let rules: Vec<&str> = value.split(',').map(str::trim).collect();
        if rules.len() > 1 && rules.iter().any(|r| *r == "all" || *r == "none") {
            return Err(invalid("`all` and `none` stand alone"));
        }
        let mut optimizations = Optimizations::NONE;
        for rule in rules {
            match rule {
                "none" => {}
                "all" => optimizations = Optimizations::ALL,
                "merge.repartition.topics" => optimizations.merge_repartitions = true,
                "reuse.ktable.source.topics" => optimizations.reuse_source_topics = true,
                "single.store.self.join" => optimizations.single_store_self_join = true,
                _ => return Err(invalid(&format!("unknown rule `{rule}`"))),
            }
        }
        Ok(optimizations)
    }
}

/// A node after which a repartition may go: a key-changing operator, or a merge node.
pub(crate) struct Changer {
    pub(crate) node: usize,
    /// The outlet its children attach to.
    pub(crate) outlet: OutletId,
    /// The type of its records, `(K, V)`.
    pub(crate) types: TypeId,
    pub(crate) merge: bool,
}

/// Lowers the repartition merged into: adds its nodes and runs its typed pieces; returns its
/// filter, sink and source nodes.
pub(crate) type Lower = Arc<dyn Fn(&mut GraphBuilder, &Merged) -> [usize; 3] + Send + Sync>;

/// A repartition the merging pass may replace (Kafka's `OptimizableRepartitionNode`).
pub(crate) struct Repartition {
    /// Its first node (the null-key filter).
    pub(crate) first: usize,
    pub(crate) sink: usize,
    pub(crate) source: usize,
    pub(crate) topic: String,
    pub(crate) types: TypeId,
    pub(crate) lower: Lower,
}

/// What a merged repartition is lowered from.
pub(crate) struct Merged {
    pub(crate) topic: String,
    /// The key-changing (or merge) node it follows, and its outlet.
    pub(crate) parent: usize,
    pub(crate) outlet: OutletId,
    /// The first nodes of the chains that move behind it.
    pub(crate) moved: Vec<usize>,
    pub(crate) keep_null_keys: bool,
}

/// A stream-stream join of a stream with itself (Kafka's `StreamStreamJoinNode` with one
/// parent).
pub(crate) struct SelfJoin {
    /// Its windowed nodes, this side's then the other's.
    pub(crate) windowed: [usize; 2],
    /// Its two join nodes.
    pub(crate) sides: [usize; 2],
    pub(crate) merge: usize,
    /// This side's store, the one kept.
    pub(crate) store: String,
}

/// What the builder records for the passes as it adds nodes.
#[derive(Default)]
pub(crate) struct Metadata {
    pub(crate) changers: Vec<Changer>,
    pub(crate) value_changing: Vec<usize>,
    pub(crate) repartitions: Vec<Repartition>,
    pub(crate) self_joins: Vec<SelfJoin>,
}

impl Metadata {
    /// Notes node `node` (key-changing, or a merge) whose `(K, V)` records leave by `outlet`.
    pub(crate) fn key_changed<K: 'static, V: 'static>(&mut self, node: usize, outlet: OutletId, merge: bool) {
        self.changers.push(Changer { node, outlet, types: TypeId::of::<(K, V)>(), merge });
    }
}

/// Runs the passes `optimizations` asks for.
pub(crate) fn run(g: &mut GraphBuilder, optimizations: Optimizations) {
    if optimizations.reuse_source_topics {
        // `reuseKTableSourceTopics`: every table source's store.
        g.source_changelogs = g.table_sources.clone();
    }
    let meta = std::mem::take(&mut g.optimizable);
    if optimizations.merge_repartitions {
        merge_repartitions(g, &meta);
    }
    if optimizations.single_store_self_join {
        rewrite_self_joins(g, &meta);
    }
}

/// `InternalStreamsBuilder.rewriteSingleStoreSelfJoin`: a stream-stream join whose two sides
/// are one stream becomes its first windowed node and the self-join processor (named as the
/// join's merge node) over the first side's store alone. Kafka rewrites left and outer
/// self-joins too, which then join as inner ones (a record always finds itself).
fn rewrite_self_joins(g: &mut GraphBuilder, meta: &Metadata) {
    for join in &meta.self_joins {
        let [this_windowed, other_windowed] = join.windowed;
        for n in [other_windowed, join.sides[0], join.sides[1]] {
            for p in g.nodes[n].predecessors.clone() {
                unlink(g, p, n);
            }
            for c in g.nodes[n].successors.clone() {
                unlink(g, n, c);
            }
            g.nodes[n].removed = true;
        }
        link(g, this_windowed, join.merge);
        g.nodes[join.merge].kind = super::NodeKind::Processor { stores: vec![join.store.clone()] };
        // The first side's input runs the self-join, the other's nothing.
        g.decided.self_joins.push(join.merge);
    }
}

/// Kafka's `findParentNodeMatching`, quirks included: the node itself, else a parent that
/// matches, else what the search from the *last* parent found.
fn find_parent_matching(g: &GraphBuilder, start: usize, matches: &dyn Fn(usize) -> bool) -> Option<usize> {
    if matches(start) {
        return Some(start);
    }
    let mut found = None;
    for &parent in &g.nodes[start].predecessors {
        if matches(parent) {
            return Some(parent);
        }
        found = find_parent_matching(g, parent, matches);
    }
    found
}

/// `InternalStreamsBuilder.mergeRepartitionTopics`: the optimizable repartitions below one
/// key-changing node (no value change in between) become one, right after that node, through
/// the first one's topic; what led from the node to each repartition moves behind it.
fn merge_repartitions(g: &mut GraphBuilder, meta: &Metadata) {
    let key_changing = |n: usize| meta.changers.iter().any(|c| c.node == n && !c.merge);
    let value_changing = |n: usize| meta.value_changing.contains(&n);
    // Each key-changing node with its repartitions, in the order they were added
    // (`maybeAddNodeForOptimizationMetadata`).
    let mut groups: Vec<(usize, Vec<usize>)> =
        meta.changers.iter().filter(|c| !c.merge).map(|c| (c.node, Vec::new())).collect();
    for (i, r) in meta.repartitions.iter().enumerate() {
        let should = find_parent_matching(g, r.first, &|n| key_changing(n) || value_changing(n));
        let key = find_parent_matching(g, r.first, &key_changing);
        if let (Some(should), Some(key)) = (should, key) {
            if should == key {
                if let Some((_, members)) = groups.iter_mut().find(|(n, _)| *n == key) {
                    members.push(i);
                }
            }
        }
    }
    // `maybeUpdateKeyChangingRepartitionNodeMap`: a merge node below key changes, above all
    // of their repartitions, takes them over.
    let below = |start: usize, node: usize| {
        find_parent_matching(g, start, &|n| g.nodes[n].predecessors.contains(&node))
    };
    let mut taken_over: Vec<usize> = Vec::new();
    let mut merge_groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for merge in meta.changers.iter().filter(|c| c.merge) {
        let mut members = Vec::new();
        for (changer, repartitions) in &groups {
            let all_below =
                repartitions.iter().all(|&r| below(meta.repartitions[r].first, merge.node).is_some());
            if all_below && below(merge.node, *changer).is_some() {
                members.extend(repartitions.iter().copied());
                taken_over.push(*changer);
            }
        }
        merge_groups.push((merge.node, members));
    }
    groups.retain(|(changer, _)| !taken_over.contains(changer));
    groups.extend(merge_groups);

    // What each group merges, found before anything is rewired.
    let mut plans: Vec<(usize, Vec<usize>, Vec<usize>)> = Vec::new();
    for (changer, members) in groups {
        if members.is_empty() {
            continue;
        }
        let Some(at) = meta.changers.iter().position(|c| c.node == changer) else { continue };
        // The chain from the changer to each repartition, by its first node.
        let Some(mut moved) = members
            .iter()
            .map(|&r| below(meta.repartitions[r].first, changer))
            .collect::<Option<Vec<usize>>>()
        else {
            continue;
        };
        let firsts = g.children_firsts(meta.changers[at].outlet);
        let movable = moved.iter().all(|c| firsts.contains(&Some(*c)));
        if !movable || members.iter().any(|&r| meta.repartitions[r].types != meta.changers[at].types) {
            tracing::debug!(node = %g.nodes[changer].name, "repartitions left unmerged: their chains are not movable");
            continue;
        }
        moved.sort_unstable();
        moved.dedup();
        plans.push((at, members, moved));
    }

    for (at, members, moved) in plans {
        let (changer, outlet) = (meta.changers[at].node, meta.changers[at].outlet);
        let repartitions: Vec<&Repartition> = members.iter().map(|&r| &meta.repartitions[r]).collect();
        for r in &repartitions {
            g.internal_topics.retain(|t| *t != r.topic);
        }
        let merged = Merged {
            topic: repartitions[0].topic.clone(),
            parent: changer,
            outlet,
            moved: moved.clone(),
            keep_null_keys: repartitions.iter().any(|r| g.decided.null_key_repartitions.contains(&r.sink)),
        };
        let written = (repartitions[0].lower)(g, &merged);
        let source = written[2];
        // Written right after the node it follows (it takes that node's build priority).
        g.build_order.retain(|n| !written.contains(n));
        let at = g.build_order.iter().position(|&n| n == changer).map_or(g.build_order.len(), |p| p + 1);
        g.build_order.splice(at..at, written);
        for c in moved {
            if g.nodes[c].predecessors.contains(&changer) {
                unlink(g, changer, c);
                link(g, source, c);
            }
        }
        for r in repartitions {
            // The repartition's downstream hangs from what fed it; its nodes go.
            let feeding = g.nodes[r.first].predecessors.clone();
            for child in g.nodes[r.source].successors.clone() {
                unlink(g, r.source, child);
                for &p in &feeding {
                    link(g, p, child);
                }
            }
            for p in feeding {
                unlink(g, p, r.first);
            }
            for n in [r.first, r.sink, r.source] {
                let node = &mut g.nodes[n];
                node.removed = true;
                node.predecessors.clear();
                node.successors.clear();
            }
            // Its sink passes records on to what its source fed.
            g.decided.merged_repartitions.push(r.sink);
            g.sources.retain(|s| s.node != r.source);
            g.repartition_links.retain(|(source, _)| *source != r.source);
        }
    }
}

fn link(g: &mut GraphBuilder, parent: usize, child: usize) {
    if !g.nodes[parent].successors.contains(&child) {
        g.nodes[parent].successors.push(child);
    }
    if !g.nodes[child].predecessors.contains(&parent) {
        g.nodes[child].predecessors.push(parent);
    }
}

fn unlink(g: &mut GraphBuilder, parent: usize, child: usize) {
    g.nodes[parent].successors.retain(|&n| n != child);
    g.nodes[child].predecessors.retain(|&n| n != parent);
}
