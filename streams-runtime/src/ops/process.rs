//! `process`: a user's [`Processor`](crate::processor::Processor) as a node of the graph
//! (Kafka's `KStreamImpl.process` and `ProcessorNode` around an `api.Processor`).
//!
//! The node is shared by its place in the task's processor chain and by the task's list of
//! punctuators, so that a punctuation can reach it between records: a `Mutex` nobody else
//! takes, locked once per record (the record caches of aggregations are shared the same way).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use super::{Context, Processor};
use crate::processor::{self, ProcessorContext, PunctuationType, Schedules};
use crate::record::Record;

/// The user's processor with its downstream and its punctuation schedules.
pub(crate) struct UserNode<P: processor::Processor<KIn, VIn>, KIn, VIn> {
    pub(crate) processor: P,
    pub(crate) next: Box<dyn Processor<P::KOut, P::VOut>>,
    pub(crate) schedules: Schedules,
    /// The timestamp store writes carry: the record's, or the punctuation's.
    pub(crate) now: Arc<AtomicI64>,
    pub(crate) name: String,
    pub(crate) application_id: String,
    pub(crate) _types: std::marker::PhantomData<fn(KIn, VIn)>,
}

impl<P: processor::Processor<KIn, VIn>, KIn, VIn> Drop for UserNode<P, KIn, VIn> {
    fn drop(&mut self) {
        self.processor.close();
    }
}

/// The node as its chain and its task hold it.
pub(crate) struct ProcessNode<P: processor::Processor<KIn, VIn>, KIn, VIn>(
    pub(crate) Arc<Mutex<UserNode<P, KIn, VIn>>>,
);

/// The same context, borrowed for a user's call: its first failure goes back to `ctx`.
fn reborrow<'x>(ctx: &'x mut Context<'_>) -> Context<'x> {
    Context {
        topic: ctx.topic,
        partition: ctx.partition,
        offset: ctx.offset,
        stream_time: ctx.stream_time,
        wall_clock: ctx.wall_clock,
        collector: &mut *ctx.collector,
        failed: None,
        probe: &mut *ctx.probe,
    }
}

impl<P, KIn, VIn> UserNode<P, KIn, VIn>
where
    P: processor::Processor<KIn, VIn>,
{
    /// Runs `body` with a processor context over `ctx`.
    fn with_context(
        &mut self,
        ctx: &mut Context<'_>,
        in_record: bool,
        body: impl FnOnce(&mut P, &mut ProcessorContext<'_, P::KOut, P::VOut>),
    ) {
        let UserNode { processor, next, schedules, application_id, .. } = self;
        let mut pctx =
            ProcessorContext { ctx: reborrow(ctx), next: &mut **next, schedules, in_record, application_id };
        body(processor, &mut pctx);
        let failed = pctx.ctx.failed.take();
        if let Some(e) = failed {
            ctx.failed.get_or_insert(e);
        }
    }
}

impl<P, KIn, VIn> Processor<KIn, VIn> for ProcessNode<P, KIn, VIn>
where
    P: processor::Processor<KIn, VIn>,
    KIn: Send,
    VIn: Send,
{
    fn process(&mut self, ctx: &mut Context<'_>, record: Record<KIn, VIn>) {
        let mut node = self.0.lock().unwrap_or_else(|p| p.into_inner());
        node.now.store(record.timestamp, Ordering::Relaxed);
        node.with_context(ctx, true, |p, pctx| p.process(pctx, record));
    }
}

/// A node with punctuation schedules, as its task reaches it.
pub(crate) trait Punctuate: Send {
    /// Runs every punctuation of `kind` due at `now`, earliest first. Stops at the first
    /// that panics, with its message (that schedule waits for its next time, as the others;
    /// calling again runs the rest).
    fn punctuate(&mut self, ctx: &mut Context<'_>, kind: PunctuationType, now: i64) -> Result<(), String>;
    /// The node's name, for errors.
    fn name(&self) -> String;
}

impl<P, KIn, VIn> Punctuate for ProcessNode<P, KIn, VIn>
where
    P: processor::Processor<KIn, VIn>,
    KIn: Send,
    VIn: Send,
{
    fn punctuate(&mut self, ctx: &mut Context<'_>, kind: PunctuationType, now: i64) -> Result<(), String> {
        let mut node = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if node.schedules.is_empty() {
            return Ok(());
        }
        node.now.store(now, Ordering::Relaxed);
        // As Kafka's `PunctuationQueue.maybePunctuate`: each due schedule fires once, then
        // waits for its next time after `now` (which a punctuation may cancel).
        while let Some((handle, at, interval)) = node.schedules.next_due(kind, now) {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                node.with_context(ctx, false, |p, pctx| p.punctuate(pctx, &handle, now))
            }));
            node.schedules.reschedule(handle, at, interval, now);
            if let Err(panic) = outcome {
                return Err(crate::error::panic_message(panic.as_ref()));
            }
        }
        Ok(())
    }

    fn name(&self) -> String {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).name.clone()
    }
}
