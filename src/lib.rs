//! azleak finds Microsoft Entra ID (Azure AD) client secrets and other Azure credentials
//! hardcoded in files, standard input and git history.
//!
//! Data flows one way: a source (`source`) yields byte buffers with their origin; the
//! [`detect::Detector`] (keywords → regex in a window → checks) turns them into matches;
//! [`scan`] pairs matches with the identities near them ([`pair`]) and places them in files as
//! [`finding::Finding`]s; the [`filter`] stage (threshold,
//! allowlists, inline `azleak:allow`, baselines, fingerprints), with the settings [`config`]
//! loads, drops known ones; [`enrich`] adds owners and verification; findings are sorted
//! and handed to a reporter (`report`). The binary in
//! `main.rs` only parses arguments and calls [`cli::run`].

#![warn(missing_docs, clippy::print_stdout, clippy::print_stderr)]

pub mod cli;
pub mod config;
pub mod detect;
pub mod enrich;
pub mod expand;
pub mod filter;
pub mod finding;
pub mod inventory;
pub mod org;
pub mod pair;
pub mod report;
pub mod rules;
pub mod scan;
pub mod source;
pub mod store;
pub mod verify;

pub use detect::Detector;
pub use finding::{Confidence, Finding, Secret};
pub use rules::RuleSet;
