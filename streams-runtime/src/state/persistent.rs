//! Persistent state (Kafka's `RocksDBStore` and `ProcessorStateManager` checkpoints): stores
//! that outlive the process, under `state.dir/<application.id>/`.
//!
//! - One log-structured key-value database per application instance (`fjall`, pure Rust, no
//!   C++ toolchain), one keyspace per task's store (`<task>.<store>`). Values are written as
//!   Kafka's timestamped stores write them: the timestamp (8 bytes, big-endian), then the
//!   value codec's bytes; keys are the key codec's bytes.
//! - Per task a checkpoint file, `<task>/.checkpoint`, in Kafka's format (`OffsetCheckpoint`:
//!   version `0`, the entry count, then one `topic partition offset` line each), holding for
//!   each changelog partition the offset of the last record the store on disk reflects. A
//!   restoration reads the changelog from the record after it. At-least-once, it is written
//!   after every commit; exactly-once only when the task is suspended after its commit (a
//!   rebalance) or the instance stops cleanly, and read and deleted when the task starts or
//!   resumes: a process that dies meanwhile leaves none, and the next start wipes the store
//!   and rebuilds it from the changelog (as Kafka does, since the store may hold writes of a
//!   transaction that was aborted).
//! - A lock on `state.dir/<application.id>/.lock` keeps a second instance out of the directory
//!   (Kafka's `StateDirectory` lock).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::StreamsError;

/// `state.dir/<application.id>/`, locked by this instance.
pub(crate) struct StateDirectory {
    root: PathBuf,
    db: fjall::Database,
    /// Held for the instance's life: the lock is released when it is closed.
    _lock: File,
}

/// A task's changelog offsets: (topic, partition) → the last offset its stores reflect.
pub(crate) type Checkpoint = BTreeMap<(String, u32), u64>;

impl StateDirectory {
    /// Opens (creating it) and locks the application's state directory.
    pub(crate) fn open(state_dir: &Path, application_id: &str) -> Result<Arc<StateDirectory>, StreamsError> {
        let root = state_dir.join(application_id);
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            StreamsError::Config(format!("state.dir: cannot {what} `{}`: {e}", root.display()))
        };
        std::fs::create_dir_all(&root).map_err(|e| failed("create", &e))?;
        let lock = lock(&root, application_id)?;
        let db = fjall::Database::builder(root.join("stores"))
            // fjall's default block cache, said here: memory stays bounded by it and the
            // write buffers, whatever the stores hold.
            .cache_size(32 << 20)
            // An open replays the journal written since its last rotation (~0.6 s for 1 M
            // entries): rotating at fjall's smallest size bounds that.
            .max_journaling_size(64 << 20)
            .open()
            .map_err(|e| failed("open the stores in", &e))?;
        Ok(Arc::new(StateDirectory { root, db, _lock: lock }))
    }

    /// Deletes the application's state directory (Kafka's `KafkaStreams.cleanUp`): its stores
    /// and checkpoints; refused while an instance holds it.
    pub(crate) fn clean_up(state_dir: &Path, application_id: &str) -> Result<(), StreamsError> {
        let root = state_dir.join(application_id);
        if !root.exists() {
            return Ok(());
        }
        // Held while deleting: an instance starting meanwhile fails to lock it.
        let _lock = lock(&root, application_id)?;
        std::fs::remove_dir_all(&root).map_err(|e| {
            StreamsError::Config(format!("state.dir: cannot delete `{}`: {e}", root.display()))
        })?;
        tracing::info!(dir = %root.display(), "local state deleted");
        Ok(())
    }

    fn task_dir(&self, task: (usize, u32)) -> PathBuf {
        self.root.join(format!("{}_{}", task.0, task.1))
    }

    /// Task `task`'s checkpoint (empty if it has none, or one that cannot be read). Under
    /// exactly-once the file is deleted once read: only a clean close writes it again.
    pub(crate) fn take_checkpoint(&self, task: (usize, u32), exactly_once: bool) -> Checkpoint {
        let path = self.task_dir(task).join(".checkpoint");
        let Ok(text) = std::fs::read_to_string(&path) else { return Checkpoint::new() };
        let checkpoint = parse_checkpoint(&text).unwrap_or_else(|| {
            tracing::warn!(file = %path.display(), "ignoring a checkpoint file that cannot be read");
            Checkpoint::new()
        });
        if exactly_once {
            let _ = std::fs::remove_file(&path);
        }
        checkpoint
    }

    /// Writes task `task`'s checkpoint (through a temporary file, as Kafka's
    /// `OffsetCheckpoint.write`: a crash leaves the old file or the new one).
    pub(crate) fn write_checkpoint(
        &self,
        task: (usize, u32),
        checkpoint: &Checkpoint,
    ) -> Result<(), StreamsError> {
        let dir = self.task_dir(task);
        let failed = |e: std::io::Error| {
            StreamsError::Config(format!(
                "state.dir: cannot write the checkpoint of task {}_{}: {e}",
                task.0, task.1
            ))
        };
        // Everything the checkpoint vouches for is on disk first.
        self.db.persist(fjall::PersistMode::SyncData).map_err(|e| failed(std::io::Error::other(e)))?;
        std::fs::create_dir_all(&dir).map_err(failed)?;
        let tmp = dir.join(".checkpoint.tmp");
        let mut file = File::create(&tmp).map_err(failed)?;
        file.write_all(format_checkpoint(checkpoint).as_bytes()).map_err(failed)?;
        file.sync_all().map_err(failed)?;
        std::fs::rename(&tmp, dir.join(".checkpoint")).map_err(failed)
    }

    /// Task `task`'s store `store` on disk, reflecting changelog offset `checkpointed`
    /// (`None`: unknown, so a `logged` store is wiped before it is restored).
    pub(crate) fn store(
        self: &Arc<Self>,
        task: (usize, u32),
        store: &str,
        changelog: (String, u32),
        checkpointed: Option<u64>,
        logged: bool,
    ) -> Result<DiskStore, StreamsError> {
        let mut name = format!("{}_{}.{store}", task.0, task.1);
        if name.len() > 255 {
            name = format!("{}_{}.{:016x}", task.0, task.1, fnv(store.as_bytes()));
        }
        let keyspace = self
            .db
            // Kafka's RocksDB stores write 16 MiB memtables (`RocksDBStore`'s
            // `WRITE_BUFFER_SIZE`); fjall's default is 64 MiB per store.
            .keyspace(&name, || fjall::KeyspaceCreateOptions::default().max_memtable_size(16 << 20))
            .map_err(|e| StreamsError::Config(format!("state.dir: cannot open store `{store}`: {e}")))?;
        let disk = DiskStore {
            dir: self.clone(),
            keyspace,
            changelog,
            offset: Mutex::new(checkpointed),
            restoring: Mutex::default(),
        };
        if logged && checkpointed.is_none() {
            disk.wipe();
        }
        Ok(disk)
    }
}

/// The last offset a producer wrote to each changelog partition, as its acknowledgements say.
#[derive(Default)]
pub(crate) struct Written(std::collections::HashMap<String, std::collections::HashMap<u32, u64>>);

impl Written {
    pub(crate) fn record(&mut self, topic: &str, partition: u32, offset: u64) {
        let partitions = match self.0.get_mut(topic) {
            Some(p) => p,
            None => self.0.entry(topic.to_string()).or_default(),
        };
        let last = partitions.entry(partition).or_insert(offset);
        *last = (*last).max(offset);
    }

    pub(crate) fn get(&self, topic: &str, partition: u32) -> Option<u64> {
        self.0.get(topic)?.get(&partition).copied()
    }
}

/// Locks `root`, the state directory of `application_id` (its `.lock` file, created if
/// missing); the lock is released when the file is closed.
fn lock(root: &Path, application_id: &str) -> Result<File, StreamsError> {
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(root.join(".lock"))
        .map_err(|e| StreamsError::Config(format!("state.dir: cannot lock `{}`: {e}", root.display())))?;
    if lock.try_lock().is_err() {
        return Err(StreamsError::Config(format!(
            "state.dir: `{}` is in use by another instance of `{application_id}` (Kafka: \"Unable to \
             initialize state, this can happen if multiple instances of Kafka Streams are running in \
             the same state directory\"); give each instance a `state.dir` of its own",
            root.display()
        )));
    }
    Ok(lock)
}

/// What a task's build needs to make its persistent stores.
pub(crate) struct TaskState {
    pub(crate) dir: Arc<StateDirectory>,
    pub(crate) task: (usize, u32),
    /// The task's checkpoint, as it was when the task started.
    pub(crate) checkpoint: Checkpoint,
    /// How many clean entries each store's cache keeps in memory.
    pub(crate) cache: usize,
}

impl TaskState {
    /// Task `task`'s state in `dir`, from its checkpoint (deleted once read under
    /// exactly-once).
    pub(crate) fn new(
        dir: &Arc<StateDirectory>,
        task: (usize, u32),
        exactly_once: bool,
        cache: usize,
    ) -> TaskState {
        let checkpoint = dir.take_checkpoint(task, exactly_once);
        TaskState { dir: dir.clone(), task, checkpoint, cache }
    }

    /// The task's store `store`, whose changelog (if `logged`) is partition `partition` of
    /// `topic`. A store without a changelog keeps what it holds (nothing could rebuild it).
    pub(crate) fn store(&self, store: &str, topic: String, partition: u32, logged: bool) -> DiskStore {
        let checkpointed = self.checkpoint.get(&(topic.clone(), partition)).copied();
        self.dir
            .store(self.task, store, (topic, partition), checkpointed, logged)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// One task's store on disk, and the changelog offset it reflects.
pub(crate) struct DiskStore {
    dir: Arc<StateDirectory>,
    keyspace: fjall::Keyspace,
    /// The store's changelog partition.
    changelog: (String, u32),
    /// The last changelog offset the store reflects (`None`: unknown).
    offset: Mutex<Option<u64>>,
    /// Restored changes not written yet (written in batches: one write per record costs
    /// three times as much).
    restoring: Mutex<Vec<Change>>,
}

impl DiskStore {
    /// The value bytes under `key` (timestamp first).
    pub(crate) fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        match self.keyspace.get(key) {
            Ok(v) => v.map(|v| v.to_vec()),
            Err(e) => panic!("state.dir: cannot read store `{}`: {e}", self.keyspace.name()),
        }
    }

    /// Writes `(key, Some(value))` and deletes `(key, None)`, atomically.
    pub(crate) fn write(&self, changes: impl IntoIterator<Item = Change>) {
        let mut batch = self.dir.db.batch();
        for (key, value) in changes {
            match value {
                Some(v) => batch.insert(&self.keyspace, key, v),
                None => batch.remove(&self.keyspace, key),
            }
        }
        if let Err(e) = batch.commit() {
            panic!("state.dir: cannot write store `{}`: {e}", self.keyspace.name());
        }
    }

    /// A changelog record restored: written with the next ones, by [`Self::restored`] at the
    /// latest.
    pub(crate) fn restore(&self, key: Vec<u8>, value: Option<Vec<u8>>) {
        let mut pending = self.restoring.lock().unwrap_or_else(|p| p.into_inner());
        pending.push((key, value));
        if pending.len() >= RESTORE_BATCH {
            self.write(pending.drain(..));
        }
    }

    /// Writes what [`Self::restore`] holds (a restoration ended, or stopped).
    pub(crate) fn restored(&self) {
        let mut pending = self.restoring.lock().unwrap_or_else(|p| p.into_inner());
        if !pending.is_empty() {
            self.write(pending.drain(..));
        }
    }

    /// Every entry, in key-byte order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
        self.keyspace.iter().filter_map(|guard| match guard.into_inner() {
            Ok((k, v)) => Some((k.to_vec(), v.to_vec())),
            Err(e) => {
                tracing::error!(store = %self.keyspace.name(), error = %e, "cannot read an entry");
                None
            }
        })
    }

    /// Empties the store (its contents cannot be trusted) and forgets its offset.
    pub(crate) fn wipe(&self) {
        if let Err(e) = self.keyspace.clear() {
            panic!("state.dir: cannot wipe store `{}`: {e}", self.keyspace.name());
        }
        *self.offset.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The store's changelog partition.
    pub(crate) fn changelog(&self) -> (&str, u32) {
        (&self.changelog.0, self.changelog.1)
    }

    /// The last changelog offset the store reflects.
    pub(crate) fn offset(&self) -> Option<u64> {
        *self.offset.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The store reflects the changelog up to `offset` (a record restored or written).
    pub(crate) fn advance(&self, offset: u64) {
        let mut o = self.offset.lock().unwrap_or_else(|p| p.into_inner());
        *o = Some(o.map_or(offset, |o| o.max(offset)));
    }

    /// Where its restoration starts, in a changelog partition holding offsets `low..high`:
    /// after its checkpoint; from `low`, wiped, if the checkpoint is unknown or outside the
    /// log (the changelog was deleted or truncated under it: Kafka's
    /// `TaskCorruptedException` on `OffsetOutOfRange`).
    pub(crate) fn restore_from(&self, low: u64, high: u64) -> u64 {
        match self.offset() {
            Some(o) if o + 1 >= low && o < high => o + 1,
            Some(o) => {
                tracing::warn!(
                    store = %self.keyspace.name(),
                    checkpoint = o,
                    low,
                    high,
                    "the checkpoint is outside the changelog; wiping the store and restoring it"
                );
                self.wipe();
                low
            }
            None => low,
        }
    }
}

/// A key's bytes and its new value's (`None`: deleted).
type Change = (Vec<u8>, Option<Vec<u8>>);

/// Restored records written at once.
const RESTORE_BATCH: usize = 10_000;

fn format_checkpoint(checkpoint: &Checkpoint) -> String {
    let mut text = format!("0\n{}\n", checkpoint.len());
    for ((topic, partition), offset) in checkpoint {
        text.push_str(&format!("{topic} {partition} {offset}\n"));
    }
    text
}

fn parse_checkpoint(text: &str) -> Option<Checkpoint> {
    let mut lines = text.lines();
    if lines.next()?.trim() != "0" {
        return None;
    }
    let count: usize = lines.next()?.trim().parse().ok()?;
    let mut checkpoint = Checkpoint::new();
    for line in lines.take(count) {
        let mut parts = line.split_whitespace();
        let (topic, partition, offset) =
            (parts.next()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
        checkpoint.insert((topic.to_string(), partition), offset);
    }
    (checkpoint.len() == count).then_some(checkpoint)
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_read_back_as_written_in_kafka_s_format() {
        let mut c = Checkpoint::new();
        c.insert(("app-counts-changelog".into(), 3), 41);
        c.insert(("app-other-changelog".into(), 3), 0);
        let text = format_checkpoint(&c);
        assert_eq!(text, "0\n2\napp-counts-changelog 3 41\napp-other-changelog 3 0\n");
        assert_eq!(parse_checkpoint(&text), Some(c));
        assert_eq!(parse_checkpoint("1\n0\n"), None, "an unknown version");
        assert_eq!(parse_checkpoint("0\n2\nt 0 1\n"), None, "fewer entries than counted");
    }

    #[test]
    fn a_second_instance_cannot_lock_the_directory() {
        let dir = std::env::temp_dir().join(format!("streams-lock-{}", std::process::id()));
        let first = StateDirectory::open(&dir, "app").unwrap();
        let second = StateDirectory::open(&dir, "app").err().expect("locked").to_string();
        assert!(second.contains("in use by another instance"), "{second}");
        drop(first);
        assert!(StateDirectory::open(&dir, "app").is_ok(), "released when closed");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
