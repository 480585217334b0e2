//! The application's state, as Kafka's `KafkaStreams.State`, and the listener told of every
//! change.

use std::sync::{Arc, Mutex};

/// Where an application stands (Kafka's `KafkaStreams.State`, same names and transitions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Built, not started.
    Created,
    /// Some stream thread has no assignment yet, or is restoring tasks, or rebuilding them
    /// after a failure.
    Rebalancing,
    /// Every stream thread processes its tasks.
    Running,
    /// Stopping, as asked or because the input is drained.
    PendingShutdown,
    /// Stopped cleanly.
    NotRunning,
    /// Stopping after an error no handler took care of.
    PendingError,
    /// Stopped after an error.
    Error,
}

impl State {
    /// Kafka's `State.isValidTransition`.
    pub fn can_become(self, next: State) -> bool {
        use State::*;
        matches!(
            (self, next),
            (Created, Rebalancing | PendingShutdown)
                | (Rebalancing, Running | PendingShutdown | PendingError)
                | (Running, Rebalancing | Running | PendingShutdown | PendingError)
                | (PendingShutdown, NotRunning)
                | (PendingError, Error)
        )
    }

    /// `Running` or `Rebalancing`.
    pub fn is_running_or_rebalancing(self) -> bool {
        matches!(self, State::Running | State::Rebalancing)
    }

    /// `NotRunning` or `Error`.
    pub fn has_completed_shutdown(self) -> bool {
        matches!(self, State::NotRunning | State::Error)
    }

    /// The name Kafka prints (`REBALANCING`, …).
    pub fn name(self) -> &'static str {
        match self {
            State::Created => "CREATED",
            State::Rebalancing => "REBALANCING",
            State::Running => "RUNNING",
            State::PendingShutdown => "PENDING_SHUTDOWN",
            State::NotRunning => "NOT_RUNNING",
            State::PendingError => "PENDING_ERROR",
            State::Error => "ERROR",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Called with (new state, old state), as Kafka's `StateListener.onChange`.
pub(crate) type StateListener = Arc<dyn Fn(State, State) + Send + Sync>;

/// The state and its listener, shared by the instance and its threads.
#[derive(Default)]
pub(crate) struct StateCell {
    state: Mutex<Option<State>>,
    listener: Mutex<Option<StateListener>>,
}

impl StateCell {
    pub(crate) fn get(&self) -> State {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).unwrap_or(State::Created)
    }

    pub(crate) fn set_listener(&self, listener: StateListener) {
        *self.listener.lock().unwrap_or_else(|p| p.into_inner()) = Some(listener);
    }

    /// Moves to `next` if Kafka allows it from where it stands (`Running` to `Running` is
    /// allowed and not reported); returns whether it moved.
    pub(crate) fn advance(&self, next: State) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = state.unwrap_or(State::Created);
        if now == next || !now.can_become(next) {
            return false;
        }
        *state = Some(next);
        drop(state);
        tracing::info!(from = %now, to = %next, "state transition");
        let listener = self.listener.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(listener) = listener {
            listener(next, now);
        }
        true
    }
}
