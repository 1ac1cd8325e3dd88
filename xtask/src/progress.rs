//! Progress lines for long work: what step, what it is waiting for.

use std::time::Instant;

pub(crate) fn step(what: &str) {
    eprintln!("==> {what}");
}

pub(crate) fn info(what: &str) {
    eprintln!("    {what}");
}

/// Measures one step and reports its duration when done.
pub(crate) struct Timer {
    what: String,
    start: Instant,
}

impl Timer {
    pub(crate) fn start(what: impl Into<String>) -> Timer {
        let what = what.into();
        step(&what);
        Timer { what, start: Instant::now() }
    }

    pub(crate) fn elapsed_secs(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    pub(crate) fn done(self) {
        info(&format!("{} done in {:.1} s", self.what, self.elapsed_secs()));
    }
}
