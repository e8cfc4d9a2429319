//! The one integration test binary: every module drives the real `azleak` binary (or the
//! library) on real files in temporary directories.

mod rules;
mod scan_git;
mod util;
