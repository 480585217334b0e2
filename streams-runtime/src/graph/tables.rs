//! The tables pass: which tables send old values and which keep their stores, decided over
//! the whole topology once it is built (Kafka's `KTableImpl.enableSendingOldValues` walking up
//! to the sources, and materialization on demand), then read by the processors as each task
//! is built.

/// A table as the builder declared it, and what was asked of it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    /// The tables its updates derive from (a join has two): sending old values needs theirs.
    pub(crate) parents: Vec<usize>,
    /// It has a store that sending old values needs (a source: `KTableSource`).
    pub(crate) source: bool,
    /// Its store is kept whatever is asked (an aggregation's).
    pub(crate) always_kept: bool,
    /// Something looks its rows up (a join): its store is kept.
    pub(crate) store_asked: bool,
    /// Something downstream needs its old values (a `group_by`, a join's outer side).
    pub(crate) old_values_asked: bool,
    /// Its rows are versioned (Kafka's `isOutputVersioned`, KIP-914): a source materialized in
    /// a versioned store, or a table derived from versioned ones by filters and mappings.
    pub(crate) versioned: bool,
}

/// What the pass decided, by table.
#[derive(Debug, Clone, Default)]
pub(crate) struct Decided {
    pub(crate) old_values: Vec<bool>,
    pub(crate) store_kept: Vec<bool>,
    pub(crate) versioned: Vec<bool>,
}

/// Old values flow up from every table asked to the tables it derives from; a source that
/// sends them keeps its store.
pub(crate) fn decide(tables: &[Table]) -> Decided {
    let mut old_values = vec![false; tables.len()];
    let mut stack: Vec<usize> = (0..tables.len()).filter(|&t| tables[t].old_values_asked).collect();
    while let Some(t) = stack.pop() {
        if !std::mem::replace(&mut old_values[t], true) {
            stack.extend(tables[t].parents.iter().copied());
        }
    }
    let store_kept = tables
        .iter()
        .zip(&old_values)
        .map(|(t, &old)| t.always_kept || t.store_asked || (t.source && old))
        .collect();
    let versioned = tables.iter().map(|t| t.versioned).collect();
    Decided { old_values, store_kept, versioned }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_values_reach_the_source_through_derived_tables_and_keep_its_store() {
        let tables = vec![
            Table { source: true, ..Table::default() },
            Table { parents: vec![0], ..Table::default() },
            Table { parents: vec![1], old_values_asked: true, ..Table::default() },
            Table { source: true, ..Table::default() },
            Table { always_kept: true, ..Table::default() },
        ];
        let decided = decide(&tables);
        assert_eq!(decided.old_values, [true, true, true, false, false]);
        assert_eq!(decided.store_kept, [true, false, false, false, true]);
    }
}
