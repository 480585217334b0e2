//! Window definitions and windowed keys, with Kafka Streams' semantics: epoch-aligned
//! windows, start inclusive and end exclusive, and a record late for a window when the
//! stream time has reached `window end + grace`.

use std::time::Duration;

/// A window's bounds in milliseconds: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Window {
    /// Inclusive start.
    pub start: i64,
    /// Exclusive end (for session windows: the last record's timestamp, inclusive).
    pub end: i64,
}

/// A session's bounds in milliseconds: `[start, end]`, both inclusive (the first and last
/// record's timestamps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionWindow {
    /// The first record's timestamp.
    pub start: i64,
    /// The last record's timestamp.
    pub end: i64,
}

/// A key with its window: the key type of windowed aggregations (Kafka's `Windowed<K>`).
/// `W` is [`Window`] for time and sliding windows, [`SessionWindow`] for sessions, so that
/// each is written in its own byte layout.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Windowed<K, W = Window> {
    /// The record key.
    pub key: K,
    /// The window.
    pub window: W,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Tumbling or hopping time windows (Kafka's `TimeWindows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindows {
    size: i64,
    advance: i64,
    grace: i64,
}

impl TimeWindows {
    /// Tumbling windows of `size` with no grace period (write `.grace(...)` to accept
    /// out-of-order records; Kafka's deprecated `TimeWindows.of` silently gave 24 h).
    ///
    /// # Panics
    /// If `size` is zero.
    pub fn of(size: Duration) -> Self {
        let size = millis(size);
        assert!(size > 0, "a window size must be positive");
        TimeWindows { size, advance: size, grace: 0 }
    }

    /// Hopping windows: a new window every `advance` (at most the size).
    ///
    /// # Panics
    /// If `advance` is zero or larger than the size.
    pub fn advance_by(mut self, advance: Duration) -> Self {
        let advance = millis(advance);
        assert!(
            advance > 0 && advance <= self.size,
            "a window advance must be positive and at most the size"
        );
        self.advance = advance;
        self
    }

    /// How long after a window ends it still accepts out-of-order records.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = millis(grace);
        self
    }

    /// The size in milliseconds.
    pub fn size_ms(&self) -> i64 {
        self.size
    }

    /// The advance in milliseconds.
    pub fn advance_ms(&self) -> i64 {
        self.advance
    }

    /// The grace period in milliseconds.
    pub fn grace_ms(&self) -> i64 {
        self.grace
    }

    /// How long a window store keeps windows: size + grace.
    pub fn retention_ms(&self) -> i64 {
        self.size.saturating_add(self.grace)
    }

    /// The windows a record at `timestamp` belongs to, earliest first (Kafka's
    /// `TimeWindows.windowsFor`).
    ///
    /// No step overflows: near `i64::MAX` the sequence ends where the next start would not
    /// fit, and window ends saturate (Kafka's loop would wrap around instead).
    pub fn windows_for(&self, timestamp: i64) -> impl Iterator<Item = Window> + '_ {
        let earliest = timestamp.saturating_sub(self.size).saturating_add(self.advance);
        let first = (0i64.max(earliest) / self.advance) * self.advance;
        std::iter::successors(Some(first), move |start| start.checked_add(self.advance))
            .take_while(move |start| *start <= timestamp)
            .map(move |start| Window { start, end: start.saturating_add(self.size) })
    }
}

/// Sliding windows (Kafka's `SlidingWindows`): windows `difference` long, inclusive at both
/// ends, one for every distinct set of records that close in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlidingWindows {
    difference: i64,
    grace: i64,
}

impl SlidingWindows {
    /// How long its store keeps windows: twice the difference, plus grace (Kafka's
    /// `SlidingWindowedKStreamImpl`).
    pub(crate) fn retention_ms(&self) -> i64 {
        self.difference.saturating_mul(2).saturating_add(self.grace)
    }

    /// Windows of records at most `difference` apart, with no grace period.
    pub fn with_difference(difference: Duration) -> Self {
        SlidingWindows { difference: millis(difference), grace: 0 }
    }

    /// How long after a window ends it still accepts out-of-order records.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = millis(grace);
        self
    }

    /// The maximum time difference in milliseconds.
    pub fn difference_ms(&self) -> i64 {
        self.difference
    }

    /// The grace period in milliseconds.
    pub fn grace_ms(&self) -> i64 {
        self.grace
    }
}

/// Session windows (Kafka's `SessionWindows`): a key's records at most `gap` apart form one
/// session; a record that bridges two sessions merges them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionWindows {
    gap: i64,
    grace: i64,
}

impl SessionWindows {
    /// How long its store keeps sessions: the gap plus grace (Kafka's
    /// `SessionWindowedKStreamImpl`).
    pub(crate) fn retention_ms(&self) -> i64 {
        self.gap.saturating_add(self.grace)
    }

    /// Sessions closed by `gap` of inactivity, with no grace period.
    pub fn with_inactivity_gap(gap: Duration) -> Self {
        SessionWindows { gap: millis(gap), grace: 0 }
    }

    /// How long after a session ends it still accepts out-of-order records.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = millis(grace);
        self
    }

    /// The inactivity gap in milliseconds.
    pub fn gap_ms(&self) -> i64 {
        self.gap
    }

    /// The grace period in milliseconds.
    pub fn grace_ms(&self) -> i64 {
        self.grace
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(w: &TimeWindows, ts: i64) -> Vec<i64> {
        w.windows_for(ts).map(|w| w.start).collect()
    }

    #[test]
    fn tumbling_windows_are_epoch_aligned_start_inclusive_end_exclusive() {
        let w = TimeWindows::of(Duration::from_secs(5));
        assert_eq!(starts(&w, 0), [0]);
        assert_eq!(starts(&w, 4_999), [0]);
        assert_eq!(starts(&w, 5_000), [5_000]);
        assert_eq!(w.windows_for(7_000).next(), Some(Window { start: 5_000, end: 10_000 }));
    }

    #[test]
    fn hopping_windows_cover_a_record_size_over_advance_times() {
        let w = TimeWindows::of(Duration::from_secs(5)).advance_by(Duration::from_secs(1));
        assert_eq!(starts(&w, 7_500), [3_000, 4_000, 5_000, 6_000, 7_000]);
        // Below the size, windows start at 0 (no negative starts).
        assert_eq!(starts(&w, 2_000), [0, 1_000, 2_000]);
        assert_eq!(starts(&w, 5_000), [1_000, 2_000, 3_000, 4_000, 5_000]);
    }
}
