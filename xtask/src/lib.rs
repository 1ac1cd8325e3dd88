//! smtls: fetch, configure, build, verify and package a TLS-enabled
//! sendmail. The binary (`cargo xtask`) is a thin clap front end; the
//! integration tests in `tests/` use this library directly.

#![warn(unreachable_pub)]

pub mod archive;
pub(crate) mod bench;
pub mod build;
pub(crate) mod cf;
pub mod cli;
pub mod configure;
pub(crate) mod digest;
pub(crate) mod dist;
pub(crate) mod epoch;
pub mod fetch;
pub mod freebsd;
pub mod host;
mod layers;
pub mod meta;
pub mod package;
pub mod plan;
pub(crate) mod proc;
pub(crate) mod progress;
pub mod releases;
pub(crate) mod repro;
pub mod smoke;
pub mod source;
pub mod stage;
pub(crate) mod stamp;
pub(crate) mod template;
pub mod tools;
pub(crate) mod util;
pub mod verify;
