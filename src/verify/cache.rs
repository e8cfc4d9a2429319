//! The per-run cache: each (kind, identity, secret) is tried once however many findings hold
//! it, even when two worker threads reach it at the same time. Keys hold a SHA-256 of the
//! secret, never the secret; the cache lives only for the run and is never written anywhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest, Sha256};

use super::Attempt;

/// What one try is keyed on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// `entra` or `storage`.
    pub kind: &'static str,
    /// Tenant and client id, or account name.
    pub identity: Vec<String>,
    /// SHA-256 of the secret.
    pub secret_hash: [u8; 32],
}

impl Key {
    /// A key of a secret tried against an identity.
    pub fn new(kind: &'static str, identity: &[&str], secret: &str) -> Key {
        Key {
            kind,
            identity: identity.iter().map(|s| s.to_string()).collect(),
            secret_hash: Sha256::digest(secret.as_bytes()).into(),
        }
    }
}

/// Results of the tries made so far in this run.
#[derive(Debug, Default)]
pub struct Cache {
    entries: Mutex<HashMap<Key, Arc<OnceLock<Attempt>>>>,
}

impl Cache {
    /// The result for `key`, computed by `run` the first time only (other threads asking for
    /// the same key meanwhile wait for that result).
    pub fn get_or_run(&self, key: Key, run: impl FnOnce() -> Attempt) -> Attempt {
        let cell = {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            entries.entry(key).or_default().clone()
        };
        cell.get_or_init(run).clone()
    }

    /// How many distinct tries were made.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether no try was made.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
