//! smtls: fetch, configure, build, verify and package a TLS-enabled
//! sendmail. The binary (`cargo xtask`) is a thin clap front end; the
//! integration tests in `tests/` use this library directly.

pub mod archive;
pub mod bench;
pub mod build;
pub mod cf;
pub mod cli;
pub mod configure;
pub mod digest;
pub mod dist;
pub mod epoch;
pub mod fetch;
pub mod freebsd;
pub mod host;
mod layers;
pub mod package;
pub mod plan;
pub mod progress;
pub mod releases;
pub mod repro;
pub mod smoke;
pub mod stage;
pub mod stamp;
pub mod tools;
pub mod util;
pub mod verify;
