//! Behaviour tests of streams-runtime; see the `[[test]]` targets.
