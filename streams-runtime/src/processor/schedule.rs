//! Punctuation schedules, as Kafka's `PunctuationQueue` and `PunctuationSchedule`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Which clock a punctuation follows (Kafka's `PunctuationType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PunctuationType {
    /// The task's stream time: the largest record timestamp it has read. Moves only with
    /// input, so a quiet partition does not punctuate.
    StreamTime,
    /// Wall-clock time, checked by the stream threads on every loop, and by the test driver
    /// when a test advances its clock.
    WallClockTime,
}

/// A scheduled punctuation: compare it with the one [`Processor::punctuate`] is given, or
/// cancel it (Kafka's `Cancellable`).
///
/// [`Processor::punctuate`]: super::Processor::punctuate
#[derive(Debug, Clone)]
pub struct Cancellable {
    id: u64,
    kind: PunctuationType,
    cancelled: Arc<AtomicBool>,
}

impl Cancellable {
    /// Stops the punctuation; one that is running finishes.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether it was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// The clock it follows.
    pub fn kind(&self) -> PunctuationType {
        self.kind
    }
}

impl PartialEq for Cancellable {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Cancellable {}

struct Schedule {
    handle: Cancellable,
    /// When it fires next.
    at: i64,
    interval: i64,
}

/// One processor's punctuation schedules.
#[derive(Default)]
pub(crate) struct Schedules {
    schedules: Vec<Schedule>,
    next_id: u64,
}

impl Schedules {
    /// A new schedule: by stream time aligned to 0, so the first fires as soon as there is
    /// stream time; by wall clock, first at `wall_clock + interval` (Kafka's
    /// `StreamTask.schedule`).
    pub(crate) fn add(&mut self, interval: Duration, kind: PunctuationType, wall_clock: i64) -> Cancellable {
        let interval = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
        assert!(interval >= 1, "a punctuation interval must be at least 1 ms");
        let handle = Cancellable { id: self.next_id, kind, cancelled: Arc::default() };
        self.next_id += 1;
        let at = match kind {
            PunctuationType::StreamTime => 0,
            PunctuationType::WallClockTime => wall_clock.saturating_add(interval),
        };
        self.schedules.push(Schedule { handle: handle.clone(), at, interval });
        handle
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.schedules.is_empty()
    }

    /// The earliest schedule of `kind` due at `now` (dropping cancelled ones), taken out of
    /// the queue until [`Self::reschedule`] puts it back.
    pub(crate) fn next_due(&mut self, kind: PunctuationType, now: i64) -> Option<(Cancellable, i64, i64)> {
        self.schedules.retain(|s| !s.handle.is_cancelled());
        let (i, _) = self
            .schedules
            .iter()
            .enumerate()
            .filter(|(_, s)| s.handle.kind == kind && s.at <= now)
            .min_by_key(|(_, s)| (s.at, s.handle.id))?;
        let s = self.schedules.swap_remove(i);
        Some((s.handle, s.at, s.interval))
    }

    /// Puts a schedule that fired at `now` back, due at its next time after `now`: missed
    /// punctuations are skipped, not caught up (Kafka's `PunctuationSchedule.next`).
    pub(crate) fn reschedule(&mut self, handle: Cancellable, at: i64, interval: i64, now: i64) {
        if handle.is_cancelled() {
            return;
        }
        let mut next = at.saturating_add(interval);
        if now >= next {
            let missed = (now - at) / interval;
            next = at.saturating_add((missed + 1).saturating_mul(interval));
        }
        self.schedules.push(Schedule { handle, at: next, interval });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_time_schedule_fires_at_once_then_on_the_next_multiple_of_its_interval() {
        let mut s = Schedules::default();
        let h = s.add(Duration::from_millis(10), PunctuationType::StreamTime, 500);
        let (got, at, interval) = s.next_due(PunctuationType::StreamTime, 25).unwrap();
        assert_eq!((got == h, at, interval), (true, 0, 10));
        assert!(s.next_due(PunctuationType::WallClockTime, 1_000).is_none());
        s.reschedule(got, at, interval, 25);
        assert!(s.next_due(PunctuationType::StreamTime, 29).is_none());
        let (got, at, _) = s.next_due(PunctuationType::StreamTime, 30).unwrap();
        assert_eq!(at, 30);
        got.cancel();
        s.reschedule(got, at, interval, 30);
        assert!(s.is_empty());
    }

    #[test]
    fn a_wall_clock_schedule_starts_one_interval_after_now() {
        let mut s = Schedules::default();
        s.add(Duration::from_millis(100), PunctuationType::WallClockTime, 1_000);
        assert!(s.next_due(PunctuationType::WallClockTime, 1_099).is_none());
        assert_eq!(s.next_due(PunctuationType::WallClockTime, 1_100).unwrap().1, 1_100);
    }
}
