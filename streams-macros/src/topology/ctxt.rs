//! Collects errors so that the user sees every mistake at once (serde_derive's `Ctxt`).

use std::fmt::Display;

use proc_macro2::Span;

/// Error accumulator.
#[derive(Default)]
pub(crate) struct Ctxt {
    errors: Option<syn::Error>,
}

impl Ctxt {
    /// Records an error at `span`.
    pub(crate) fn error(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Records an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.errors {
            Some(all) => all.combine(error),
            None => self.errors = Some(error),
        }
    }

    /// All errors, if any.
    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.errors {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The closest known name within a small edit distance, for "did you mean" hints.
pub(crate) fn did_you_mean<'a>(unknown: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Names here are short: a long one is no slip of the keyboard, and comparing it would
    // cost its length times each candidate's.
    let length = unknown.chars().count();
    if length > 64 {
        return None;
    }
    known
        .into_iter()
        .filter(|k| k.len().abs_diff(length) <= (k.len().max(length) / 3).max(1))
        .map(|k| (edit_distance(unknown, k), k))
        .filter(|(d, k)| *d <= (k.len().max(unknown.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Edit distance where swapping two neighbours counts as one edit (`veiws` -> `views`).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for j in 0..=b.len() {
        d[0][j] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(did_you_mean("fliter", ["filter", "map"]), Some("filter"));
        assert_eq!(did_you_mean("mapvalues", ["map_values", "map"]), Some("map_values"));
        assert_eq!(did_you_mean("xyz", ["filter", "map"]), None);
        assert_eq!(did_you_mean("veiws", ["views", "clicks"]), Some("views"));
        assert_eq!(did_you_mean("nmae", ["name"]), Some("name"));
    }
}
