//! The tab peer's durable state in IndexedDB, one database per cluster and sid.
//!
//! - store `meta`: `accepted_epoch`, `current_epoch` (numbers), `snapshot` (postcard bytes);
//! - store `log`: one entry per zxid, keyed by the zxid as 16 hex digits (so key order is
//!   zxid order), the value the entry in postcard.
//!
//! A batch of persist ops is one readwrite transaction with **strict** durability: Chrome's
//! default since 121 is "relaxed", which reports completion before the data reaches the
//! disk, so a power loss could lose what the core was told is durable. The caller reports
//! `Persisted` only after [`IdbStore::write`] returns `Ok`, i.e. after the transaction's
//! `complete` event. One transaction is atomic, so a SNAP install (clear the log, write the
//! snapshot and the entries after it) is never seen half done.

use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionDurability, TransactionMode, TransactionOptions};
use indexed_db_futures::KeyRange;
use wasm_bindgen::JsValue;
use zabra_core::log::Entry;
use zabra_core::message::Snapshot;
use zabra_core::storage::{PersistOp, PersistedState};
use zabra_core::Zxid;

const META: &str = "meta";
const LOG: &str = "log";

/// The database of `sid` in `cluster`.
pub fn db_name(cluster: &str, sid: u64) -> String {
    format!("zabra-tabs/{cluster}/{sid}")
}

fn key(z: Zxid) -> String {
    format!("{:08x}{:08x}", z.epoch, z.counter)
}

fn err(what: &str, e: impl std::fmt::Display) -> String {
    format!("IndexedDB: {what}: {e}")
}

fn bytes(b: &[u8]) -> JsValue {
    js_sys::Uint8Array::from(b).into()
}

pub struct IdbStore {
    db: Database,
    /// The last zxid held (log or snapshot), as `PersistedState::apply` keeps it: an append
    /// at or below it is skipped.
    last: Zxid,
}

impl IdbStore {
    pub async fn open(name: &str) -> Result<IdbStore, String> {
        let db = Database::open(name)
            .with_version(1u8)
            .with_on_upgrade_needed(|_, db| {
                db.create_object_store(META).build()?;
                db.create_object_store(LOG).build()?;
                Ok(())
            })
            .await
            .map_err(|e| err("open", e))?;
        Ok(IdbStore { db, last: Zxid::ZERO })
    }

    /// Deletes the database `name` (tests start from nothing).
    pub async fn delete(name: &str) -> Result<(), String> {
        let factory = indexed_db_futures::factory::DBFactory::new().map_err(|e| err("factory", e))?;
        factory.delete_db(name).map_err(|e| err("delete", e))?.await.map_err(|e| err("delete", e))
    }

    pub fn close(self) {
        self.db.close();
    }

    /// Everything durable, as the core restores from it.
    pub async fn load(&mut self) -> Result<PersistedState, String> {
        let tx = self.db.transaction([META, LOG]).build().map_err(|e| err("read", e))?;
        let meta = tx.object_store(META).map_err(|e| err("meta", e))?;
        let epoch = |v: Option<JsValue>| v.and_then(|v| v.as_f64()).map_or(0, |f| f as u32);
        let accepted: Option<JsValue> =
            meta.get("accepted_epoch").primitive().map_err(|e| err("get", e))?.await.map_err(|e| err("get", e))?;
        let current: Option<JsValue> =
            meta.get("current_epoch").primitive().map_err(|e| err("get", e))?.await.map_err(|e| err("get", e))?;
        let snap: Option<JsValue> =
            meta.get("snapshot").primitive().map_err(|e| err("get", e))?.await.map_err(|e| err("get", e))?;
        let snapshot = match snap {
            Some(v) => Some(decode::<Snapshot>(&v, "snapshot")?),
            None => None,
        };
        let log = tx.object_store(LOG).map_err(|e| err("log", e))?;
        let rows = log
            .get_all::<JsValue>()
            .primitive()
            .map_err(|e| err("get_all", e))?
            .await
            .map_err(|e| err("get_all", e))?;
        let mut entries = Vec::new();
        for row in rows {
            entries.push(decode::<Entry>(&row.map_err(|e| err("row", e))?, "log entry")?);
        }
        let state =
            PersistedState { accepted_epoch: epoch(accepted), current_epoch: epoch(current), snapshot, log: entries };
        state.validate().map_err(|e| err("load", e))?;
        self.last = state.last_zxid();
        Ok(state)
    }

    /// Performs `ops` in one strict-durability transaction; `Ok` once it completed.
    pub async fn write(&mut self, ops: &[PersistOp]) -> Result<(), String> {
        let (tx, last) = self.stage(ops)?;
        tx.commit().await.map_err(|e| err("commit", e))?;
        self.last = last;
        Ok(())
    }

    /// Issues `ops` in a transaction and aborts it, as a crash before its commit would (the
    /// conformance suite's crash at step 0).
    pub async fn write_aborted(&mut self, ops: &[PersistOp]) -> Result<(), String> {
        let (tx, _) = self.stage(ops)?;
        tx.abort().await.map_err(|e| err("abort", e))
    }

    fn stage(&self, ops: &[PersistOp]) -> Result<(Transaction<'_>, Zxid), String> {
        let mut opts = TransactionOptions::new();
        opts.set_durability(TransactionDurability::Strict);
        let tx = self
            .db
            .transaction([META, LOG])
            .with_mode(TransactionMode::Readwrite)
            .with_options(opts)
            .build()
            .map_err(|e| err("transaction", e))?;
        let mut last = self.last;
        {
            let meta = tx.object_store(META).map_err(|e| err("meta", e))?;
            let log = tx.object_store(LOG).map_err(|e| err("log", e))?;
            for op in ops {
                stage_op(&meta, &log, op, &mut last).map_err(|e| err(op.name(), e))?;
            }
        }
        Ok((tx, last))
    }
}

/// Issues the requests of one op (their results arrive with the transaction's).
fn stage_op(
    meta: &indexed_db_futures::object_store::ObjectStore<'_>,
    log: &indexed_db_futures::object_store::ObjectStore<'_>,
    op: &PersistOp,
    last: &mut Zxid,
) -> indexed_db_futures::Result<()> {
    let append = |entries: &[Entry], last: &mut Zxid| -> indexed_db_futures::Result<()> {
        for e in entries {
            if e.zxid > *last {
                drop(log.put(bytes(&encode(e))).with_key(key(e.zxid)).primitive()?);
                *last = e.zxid;
            }
        }
        Ok(())
    };
    match op {
        PersistOp::AcceptedEpoch(e) => drop(meta.put(JsValue::from(*e)).with_key("accepted_epoch").primitive()?),
        PersistOp::CurrentEpoch(e) => drop(meta.put(JsValue::from(*e)).with_key("current_epoch").primitive()?),
        PersistOp::Append(entries) => append(entries, last)?,
        PersistOp::Truncate(z) => {
            drop(log.delete::<String, KeyRange<String>>(KeyRange::LowerBound(key(*z), true)).primitive()?);
            *last = (*last).min(*z);
        }
        PersistOp::InstallSnapshot(s, entries) => {
            drop(log.clear()?);
            drop(meta.put(bytes(&encode(s))).with_key("snapshot").primitive()?);
            *last = s.zxid;
            append(entries, last)?;
        }
        PersistOp::Checkpoint(s) => {
            drop(meta.put(bytes(&encode(s))).with_key("snapshot").primitive()?);
            drop(log.delete::<String, KeyRange<String>>(KeyRange::UpperBound(key(s.zxid), false)).primitive()?);
            *last = (*last).max(s.zxid);
        }
    }
    Ok(())
}

fn encode<T: serde::Serialize>(v: &T) -> Vec<u8> {
    postcard::to_allocvec(v).expect("entries and snapshots encode")
}

fn decode<T: serde::de::DeserializeOwned>(v: &JsValue, what: &str) -> Result<T, String> {
    let b = js_sys::Uint8Array::new(v).to_vec();
    postcard::from_bytes(&b).map_err(|e| err(&format!("a damaged {what}"), e))
}
