//! The Mermaid rendering of a topology: one subgraph per sub-topology, topics as
//! parallelograms outside them.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::describe::TopologyDescription;
use super::{NodeKind, SinkTopic, SourceTopics};

impl TopologyDescription {
    /// The Mermaid `flowchart` of the same graph.
    pub fn to_mermaid(&self) -> String {
        render(self)
    }
}

fn render(d: &TopologyDescription) -> String {
    let mut out = String::from("flowchart TD\n");
    let mut topics: BTreeMap<String, usize> = BTreeMap::new();
    let topic_id = |name: &str, topics: &mut BTreeMap<String, usize>| {
        let n = topics.len();
        *topics.entry(name.to_string()).or_insert(n)
    };
    let mut edges = String::new();
    for (id, members) in d.subtopologies.iter().enumerate() {
        let _ = writeln!(out, "  subgraph sub{id}[\"Sub-topology: {id}\"]");
        for &i in members {
            let node = &d.nodes[i];
            let _ = writeln!(out, "    n{i}[\"{}\"]", node.name);
            for &s in &node.successors {
                let _ = writeln!(edges, "  n{i} --> n{s}");
            }
            match &node.kind {
                NodeKind::Source(SourceTopics::Names(ts)) => {
                    for t in ts {
                        let _ = writeln!(edges, "  t{} --> n{i}", topic_id(t, &mut topics));
                    }
                }
                NodeKind::Source(SourceTopics::Pattern(p)) => {
                    let _ = writeln!(edges, "  t{} --> n{i}", topic_id(p, &mut topics));
                }
                NodeKind::Sink(SinkTopic::Name(t)) => {
                    let _ = writeln!(edges, "  n{i} --> t{}", topic_id(t, &mut topics));
                }
                NodeKind::Sink(SinkTopic::Extractor(_)) => {
                    let _ = writeln!(edges, "  n{i} --> t{}", topic_id("(topic per record)", &mut topics));
                }
                NodeKind::Processor { .. } => {}
            }
        }
        out.push_str("  end\n");
    }
    let mut by_id: Vec<(&String, &usize)> = topics.iter().collect();
    by_id.sort_by_key(|(_, &i)| i);
    for (name, i) in by_id {
        let _ = writeln!(out, "  t{i}[/\"{name}\"/]");
    }
    out.push_str(&edges);
    out
}
