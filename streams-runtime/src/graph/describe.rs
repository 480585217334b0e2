//! `describe()`: sub-topologies and Kafka Streams' `TopologyDescription` text, character for
//! character (`InternalTopologyBuilder.TopologyDescription#toString`).

use std::cmp::Ordering;
use std::fmt;

use super::{Node, NodeKind, SinkTopic, SourceTopics};

/// Splits the nodes into connected sub-topologies, numbered as Kafka numbers them: in the
/// order their nodes were written (`build_order`, every node's index once).
pub(crate) fn subtopologies(nodes: &[Node], sources: &[usize], build_order: &[usize]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..nodes.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, node) in nodes.iter().enumerate() {
        for &p in &node.predecessors {
            let (a, b) = (root(&mut parent, i), root(&mut parent, p));
            parent[a] = b;
        }
    }
    // Processors sharing a store run in one task: Kafka groups them together.
    let stores = |n: &Node| match &n.kind {
        NodeKind::Processor { stores } => stores.clone(),
        _ => Vec::new(),
    };
    for i in 0..nodes.len() {
        for j in (i + 1)..nodes.len() {
            if stores(&nodes[i]).iter().any(|s| stores(&nodes[j]).contains(s)) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[a] = b;
            }
        }
    }
    // Numbered in the order their first node was written (Kafka's `makeNodeGroups` walks
    // `nodeFactories` in insertion order).
    let _ = sources;
    let order: Vec<usize> = build_order.iter().copied().filter(|&i| !nodes[i].removed).collect();

    let mut roots: Vec<usize> = Vec::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in order {
        let r = root(&mut parent, i);
        match roots.iter().position(|&x| x == r) {
            Some(g) => groups[g].push(i),
            None => {
                roots.push(r);
                groups.push(vec![i]);
            }
        }
    }
    for g in &mut groups {
        g.sort_unstable();
    }
    groups
}

/// A topology's structure, printed as Kafka Streams prints `Topology#describe()`.
#[derive(Debug, Clone)]
pub struct TopologyDescription {
    pub(crate) nodes: Vec<Node>,
    pub(crate) subtopologies: Vec<Vec<usize>>,
    /// Node groups that are global stores, printed as Kafka prints them.
    pub(crate) global_groups: Vec<usize>,
}

/// Java's `String.hashCode`.
fn java_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The order in which a Java `HashSet` holding `items` (given in insertion order) iterates:
/// by bucket of the spread hash, then by insertion within a bucket.
fn java_hash_set_order<'a>(items: &[&'a str]) -> Vec<&'a str> {
    let mut capacity = 16usize;
    while items.len() * 4 > capacity * 3 {
        capacity *= 2;
    }
    let bucket = |s: &str| {
        let h = java_hash(s) as u32;
        ((h ^ (h >> 16)) as usize) & (capacity - 1)
    };
    let mut ordered: Vec<(usize, usize, &str)> =
        items.iter().enumerate().map(|(i, s)| (bucket(s), i, *s)).collect();
    ordered.sort();
    ordered.into_iter().map(|(_, _, s)| s).collect()
}

/// A `TreeSet` of nodes whose sort key (sub-tree size) changes after insertion, as Kafka's
/// do: each element is placed by comparing with the sizes of the moment, and stays there.
#[derive(Default, Clone)]
struct PlacedSet {
    /// Binary tree: (node, left, right); the root is the first element.
    tree: Vec<(usize, Option<usize>, Option<usize>)>,
}

impl PlacedSet {
    fn insert(&mut self, node: usize, cmp: impl Fn(usize, usize) -> Ordering) {
        if self.tree.is_empty() {
            self.tree.push((node, None, None));
            return;
        }
        let mut at = 0;
        loop {
            let (here, left, right) = self.tree[at];
            let next = match cmp(node, here) {
                Ordering::Equal => return,
                Ordering::Less => left,
                Ordering::Greater => right,
            };
            match next {
                Some(n) => at = n,
                None => {
                    let id = self.tree.len();
                    self.tree.push((node, None, None));
                    if cmp(node, here) == Ordering::Less {
                        self.tree[at].1 = Some(id);
                    } else {
                        self.tree[at].2 = Some(id);
                    }
                    return;
                }
            }
        }
    }

    fn in_order(&self) -> Vec<usize> {
        fn walk(t: &[(usize, Option<usize>, Option<usize>)], at: Option<usize>, out: &mut Vec<usize>) {
            if let Some(i) = at {
                walk(t, t[i].1, out);
                out.push(t[i].0);
                walk(t, t[i].2, out);
            }
        }
        let mut out = Vec::new();
        if !self.tree.is_empty() {
            walk(&self.tree, Some(0), &mut out);
        }
        out
    }
}

/// One sub-topology laid out as Kafka's `describeSubtopology` lays it out.
struct Layout {
    nodes: Vec<usize>,
    successors: Vec<PlacedSet>,
    predecessors: Vec<PlacedSet>,
}

impl TopologyDescription {
    /// Kafka's `NODE_COMPARATOR`: larger sub-tree first, then by name.
    fn compare(&self, sizes: &[usize], a: usize, b: usize) -> Ordering {
        if a == b {
            return Ordering::Equal;
        }
        sizes[b].cmp(&sizes[a]).then_with(|| self.nodes[a].name.cmp(&self.nodes[b].name))
    }

    /// Replays `describeSubtopology`: nodes are connected in `HashMap` order, each edge
    /// placed in its sets with the sizes of the moment, then sizes grow up the tree.
    fn layout(&self, members: &[usize], sources: &[usize]) -> Layout {
        let name = |i: usize| self.nodes[i].name.as_str();
        let mut inserted: Vec<usize> = members.iter().copied().filter(|i| sources.contains(i)).collect();
        let mut others: Vec<usize> = members.iter().copied().filter(|i| !sources.contains(i)).collect();
        inserted.sort_by(|&a, &b| name(a).cmp(name(b)));
        others.sort_by(|&a, &b| name(a).cmp(name(b)));
        inserted.extend(others);
        let names: Vec<&str> = inserted.iter().map(|&i| name(i)).collect();
        let order: Vec<usize> = java_hash_set_order(&names)
            .into_iter()
            .map(|n| inserted[names.iter().position(|&m| m == n).expect("same names")])
            .collect();

        let count = self.nodes.len();
        let mut sizes = vec![1usize; count];
        let mut successors = vec![PlacedSet::default(); count];
        let mut predecessors = vec![PlacedSet::default(); count];
        for &node in &order {
            for &pred in &self.nodes[node].predecessors {
                predecessors[node].insert(pred, |a, b| self.compare(&sizes, a, b));
                successors[pred].insert(node, |a, b| self.compare(&sizes, a, b));
                let delta = sizes[node];
                let mut stack = vec![pred];
                while let Some(n) = stack.pop() {
                    sizes[n] += delta;
                    stack.extend(predecessors[n].in_order());
                }
            }
        }
        let mut nodes = members.to_vec();
        nodes.sort_by(|&a, &b| self.compare(&sizes, a, b));
        Layout { nodes, successors, predecessors }
    }

    fn names(&self, ids: &[usize]) -> String {
        if ids.is_empty() {
            return "none".into();
        }
        let names: Vec<&str> = ids.iter().map(|&i| self.nodes[i].name.as_str()).collect();
        names.join(", ")
    }

    /// The number of sub-topologies.
    pub fn subtopology_count(&self) -> usize {
        self.subtopologies.len()
    }
}

impl fmt::Display for TopologyDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sources: Vec<usize> =
            (0..self.nodes.len()).filter(|&i| matches!(self.nodes[i].kind, NodeKind::Source(_))).collect();
        f.write_str("Topologies:\n ")?;
        for (id, members) in self.subtopologies.iter().enumerate() {
            if self.global_groups.contains(&id) {
                // `GlobalStore#toString`: the source, then the processor, no blank line.
                let source = members.iter().find(|&&i| matches!(self.nodes[i].kind, NodeKind::Source(_)));
                let processor =
                    members.iter().find(|&&i| matches!(self.nodes[i].kind, NodeKind::Processor { .. }));
                if let (Some(&s), Some(&p)) = (source, processor) {
                    let topics = match &self.nodes[s].kind {
                        NodeKind::Source(SourceTopics::Names(t)) => t.join(", "),
                        _ => String::new(),
                    };
                    let stores = match &self.nodes[p].kind {
                        NodeKind::Processor { stores } => stores.join(", "),
                        _ => String::new(),
                    };
                    writeln!(f, "  Sub-topology: {id} for global store (will not generate tasks)")?;
                    writeln!(
                        f,
                        "    Source: {} (topics: [{topics}])\n      --> {}",
                        self.nodes[s].name, self.nodes[p].name
                    )?;
                    writeln!(
                        f,
                        "    Processor: {} (stores: [{stores}])\n      --> none\n      <-- {}",
                        self.nodes[p].name, self.nodes[s].name
                    )?;
                }
                continue;
            }
            writeln!(f, "  Sub-topology: {id}")?;
            let layout = self.layout(members, &sources);
            for &i in &layout.nodes {
                let node = &self.nodes[i];
                let next = self.names(&layout.successors[i].in_order());
                let prev = self.names(&layout.predecessors[i].in_order());
                match &node.kind {
                    NodeKind::Source(topics) => {
                        let topics = match topics {
                            SourceTopics::Names(t) => {
                                let t: Vec<&str> = t.iter().map(String::as_str).collect();
                                format!("[{}]", java_hash_set_order(&t).join(", "))
                            }
                            SourceTopics::Pattern(p) => p.clone(),
                        };
                        write!(f, "    Source: {} (topics: {topics})\n      --> {next}", node.name)?
                    }
                    NodeKind::Processor { stores } => {
                        let stores: Vec<&str> = stores.iter().map(String::as_str).collect();
                        write!(
                            f,
                            "    Processor: {} (stores: [{}])\n      --> {next}\n      <-- {prev}",
                            node.name,
                            java_hash_set_order(&stores).join(", ")
                        )?
                    }
                    NodeKind::Sink(SinkTopic::Name(t)) => {
                        write!(f, "    Sink: {} (topic: {t})\n      <-- {prev}", node.name)?
                    }
                    NodeKind::Sink(SinkTopic::Extractor(e)) => {
                        write!(f, "    Sink: {} (extractor class: {e})\n      <-- {prev}", node.name)?
                    }
                }
                f.write_str("\n")?;
            }
            f.write_str("\n")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_string_hash_matches_java() {
        // "hello".hashCode() == 99162322 and "".hashCode() == 0 in Java.
        assert_eq!(java_hash("hello"), 99162322);
        assert_eq!(java_hash(""), 0);
        assert_eq!(java_hash("KSTREAM-SOURCE-0000000000"), {
            "KSTREAM-SOURCE-0000000000".bytes().fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
        });
    }
}
