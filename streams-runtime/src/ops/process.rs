//! `process`: a user's [`Processor`](crate::processor::Processor) as a node of the graph
//! (Kafka's `KStreamImpl.process` and `ProcessorNode` around an `api.Processor`).
//!
//! The node is shared by its place in the task's processor chain and by the task's list of
//! punctuators, so that a punctuation can reach it between records: a `Mutex` nobody else
//! takes, locked once per record (the record caches of aggregations are shared the same way).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use super::{Context, Processor};
use crate::processor::{
    self, AnyKey, Cancellable, FixedKey, FixedKeyRecord, InitContext, ProcessorContext, PunctuationType,
    Schedules,
};
use crate::record::Data;
use crate::record::Record;

/// A processor of the Processor API, either kind, as its node runs it.
pub(crate) trait UserProcessor<KIn, VIn>: Send + 'static {
    type KOut: Data;
    type VOut: Data;
    /// What its context forwards: any record, or records of fixed keys.
    type Mode: 'static;
    fn init(&mut self, ctx: &mut InitContext<'_>);
    fn process(
        &mut self,
        ctx: &mut ProcessorContext<'_, Self::KOut, Self::VOut, Self::Mode>,
        record: Record<KIn, VIn>,
    );
    fn punctuate(
        &mut self,
        ctx: &mut ProcessorContext<'_, Self::KOut, Self::VOut, Self::Mode>,
        schedule: &Cancellable,
        timestamp: i64,
    );
    fn close(&mut self);
}

/// A [`processor::Processor`] (`KStream::process`).
pub(crate) struct AnyKeyProc<P>(pub(crate) P);

impl<KIn, VIn, P: processor::Processor<KIn, VIn>> UserProcessor<KIn, VIn> for AnyKeyProc<P> {
    type KOut = P::KOut;
    type VOut = P::VOut;
    type Mode = AnyKey;
    fn init(&mut self, ctx: &mut InitContext<'_>) {
        self.0.init(ctx)
    }
    fn process(&mut self, ctx: &mut ProcessorContext<'_, P::KOut, P::VOut>, record: Record<KIn, VIn>) {
        self.0.process(ctx, record)
    }
    fn punctuate(
        &mut self,
        ctx: &mut ProcessorContext<'_, P::KOut, P::VOut>,
        schedule: &Cancellable,
        now: i64,
    ) {
        self.0.punctuate(ctx, schedule, now)
    }
    fn close(&mut self) {
        self.0.close()
    }
}

/// A [`processor::FixedKeyProcessor`] (`KStream::process_values`).
pub(crate) struct FixedKeyProc<P>(pub(crate) P);

impl<K: Data, VIn, P: processor::FixedKeyProcessor<K, VIn>> UserProcessor<K, VIn> for FixedKeyProc<P> {
    type KOut = K;
    type VOut = P::VOut;
    type Mode = FixedKey;
    fn init(&mut self, ctx: &mut InitContext<'_>) {
        self.0.init(ctx)
    }
    fn process(&mut self, ctx: &mut ProcessorContext<'_, K, P::VOut, FixedKey>, record: Record<K, VIn>) {
        self.0.process(ctx, FixedKeyRecord::from(record))
    }
    fn punctuate(
        &mut self,
        ctx: &mut ProcessorContext<'_, K, P::VOut, FixedKey>,
        schedule: &Cancellable,
        now: i64,
    ) {
        self.0.punctuate(ctx, schedule, now)
    }
    fn close(&mut self) {
        self.0.close()
    }
}

/// The user's processor with its downstream and its punctuation schedules.
pub(crate) struct UserNode<P: UserProcessor<KIn, VIn>, KIn, VIn> {
    pub(crate) processor: P,
    pub(crate) next: super::Children<P::KOut, P::VOut>,
    pub(crate) schedules: Schedules,
    /// The timestamp store writes carry: the record's, or the punctuation's.
    pub(crate) now: Arc<AtomicI64>,
    pub(crate) name: String,
    pub(crate) application_id: String,
    pub(crate) _types: std::marker::PhantomData<fn(KIn, VIn)>,
}

impl<P: UserProcessor<KIn, VIn>, KIn, VIn> Drop for UserNode<P, KIn, VIn> {
    fn drop(&mut self) {
        self.processor.close();
    }
}

/// The node as its chain and its task hold it.
pub(crate) struct ProcessNode<P: UserProcessor<KIn, VIn>, KIn, VIn>(
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
    P: UserProcessor<KIn, VIn>,
{
    /// Runs `body` with a processor context over `ctx`.
    fn with_context(
        &mut self,
        ctx: &mut Context<'_>,
        in_record: bool,
        body: impl FnOnce(&mut P, &mut ProcessorContext<'_, P::KOut, P::VOut, P::Mode>),
    ) {
        let UserNode { processor, next, schedules, application_id, .. } = self;
        let mut pctx = ProcessorContext {
            ctx: reborrow(ctx),
            next,
            schedules,
            in_record,
            application_id,
            _mode: std::marker::PhantomData,
        };
        body(processor, &mut pctx);
        let failed = pctx.ctx.failed.take();
        if let Some(e) = failed {
            ctx.failed.get_or_insert(e);
        }
    }
}

impl<P, KIn, VIn> Processor<KIn, VIn> for ProcessNode<P, KIn, VIn>
where
    P: UserProcessor<KIn, VIn>,
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
    /// Runs every punctuation of `kind` due at `now`, earliest first; returns whether any
    /// ran. Stops at the first that panics, with its message (that schedule waits for its
    /// next time, as the others; calling again runs the rest).
    fn punctuate(&mut self, ctx: &mut Context<'_>, kind: PunctuationType, now: i64) -> Result<bool, String>;
    /// The node's name, for errors.
    fn name(&self) -> String;
}

impl<P, KIn, VIn> Punctuate for ProcessNode<P, KIn, VIn>
where
    P: UserProcessor<KIn, VIn>,
    KIn: Send,
    VIn: Send,
{
    fn punctuate(&mut self, ctx: &mut Context<'_>, kind: PunctuationType, now: i64) -> Result<bool, String> {
        let mut node = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if node.schedules.is_empty() {
            return Ok(false);
        }
        let mut ran = false;
        node.now.store(now, Ordering::Relaxed);
        // As Kafka's `PunctuationQueue.maybePunctuate`: each due schedule fires once, then
        // waits for its next time after `now` (which a punctuation may cancel).
        while let Some((handle, at, interval)) = node.schedules.next_due(kind, now) {
            ran = true;
            // Kafka's task-level `punctuate` sensor (DEBUG): each punctuator's latency.
            let started = ctx.probe.debug.then(std::time::Instant::now);
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                node.with_context(ctx, false, |p, pctx| p.punctuate(pctx, &handle, now))
            }));
            if let Some(started) = started {
                ctx.probe.punctuate_latency.add(started.elapsed().as_secs_f64() * 1e3);
            }
            node.schedules.reschedule(handle, at, interval, now);
            if let Err(panic) = outcome {
                return Err(crate::error::panic_message(panic.as_ref()));
            }
        }
        Ok(ran)
    }

    fn name(&self) -> String {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).name.clone()
    }
}
