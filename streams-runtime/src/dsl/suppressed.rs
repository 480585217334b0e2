//! How [`KTable::suppress`](super::KTable::suppress) holds updates back (Kafka's `Suppressed`
//! and `Suppressed.BufferConfig`).

use std::time::Duration;

use crate::ops::table_suppress::WhenFull;

/// A suppression: each key's updates are held for a time limit, the latest one emitted
/// (Kafka's `Suppressed.untilTimeLimit`).
#[derive(Debug, Clone)]
pub struct Suppressed {
    pub(crate) time_limit: Duration,
    pub(crate) buffer: BufferConfig,
    pub(crate) name: Option<String>,
}

impl Suppressed {
    /// Holds each key's updates until stream time (the largest timestamp the suppression has
    /// seen) is `limit` past the first held update's timestamp, then emits the latest
    /// (Kafka's `Suppressed.untilTimeLimit(limit, buffer)`). A later update of a held key
    /// does not restart its wait.
    pub fn until_time_limit(limit: Duration, buffer: BufferConfig) -> Self {
        Suppressed { time_limit: limit, buffer, name: None }
    }

    /// Names the node `name` and its buffer store `name-store` (Kafka's `withName`).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

/// How many updates the buffer holds, and what it does beyond that (Kafka's
/// `Suppressed.BufferConfig`).
#[derive(Debug, Clone, Copy)]
pub struct BufferConfig {
    pub(crate) max_records: Option<usize>,
    pub(crate) when_full: WhenFull,
}

impl BufferConfig {
    /// As many as come (Kafka's `unbounded()`: memory is the limit).
    pub fn unbounded() -> Self {
        BufferConfig { max_records: None, when_full: WhenFull::ShutDown }
    }

    /// At most `n` keys; beyond, the oldest are emitted early unless
    /// [`Self::shut_down_when_full`] (Kafka's `maxRecords(n)`).
    pub fn max_records(n: usize) -> Self {
        BufferConfig { max_records: Some(n), when_full: WhenFull::EmitEarly }
    }

    /// Beyond the limit, emit the oldest updates early (the default; Kafka's
    /// `emitEarlyWhenFull`).
    pub fn emit_early_when_full(mut self) -> Self {
        self.when_full = WhenFull::EmitEarly;
        self
    }

    /// Beyond the limit, fail the task (the processing-error policy decides what follows;
    /// Kafka's `shutDownWhenFull`).
    pub fn shut_down_when_full(mut self) -> Self {
        self.when_full = WhenFull::ShutDown;
        self
    }
}
