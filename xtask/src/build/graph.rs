//! The build as a graph of tasks, three per subdirectory:
//!
//! - `Configure`: upstream's `Build -c` up to the point where it has made
//!   `obj./<sub>/Makefile` (no `make depend`: in a fresh object directory
//!   every object is built anyway, and the dependency lines only serve
//!   later incremental makes);
//! - `Objects`: `make` of the generated headers and every object file (each
//!   after the headers, see `OBJECTS_MK`), which needs nothing from other
//!   subdirectories, so sendmail's 40-odd files compile while libsm is
//!   still being built;
//! - `Link`: `make all` (archive or link, manual pages), once the libraries
//!   the Makefile names in `<sub>SMDEPLIBS` are linked.
//!
//! Pure bookkeeping: which tasks are ready, in which order to start them.

use anyhow::{bail, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Stage {
    Configure,
    Objects,
    Link,
}

impl Stage {
    pub(crate) const ALL: [Stage; 3] = [Stage::Configure, Stage::Objects, Stage::Link];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Stage::Configure => "configure",
            Stage::Objects => "objects",
            Stage::Link => "link",
        }
    }
}

/// One task: a stage of one subdirectory (an index into `Graph::subdirs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Task {
    pub sub: usize,
    pub stage: Stage,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Done,
}

#[derive(Clone, Debug)]
pub(crate) struct Graph {
    /// Subdirectories in priority order: the longest chain first.
    pub subdirs: Vec<String>,
    state: Vec<[State; 3]>,
    /// The libraries (subdirectory indexes) each subdirectory links, known
    /// once its Makefile exists.
    libs: Vec<Option<Vec<usize>>>,
}

impl Graph {
    pub(crate) fn new(subdirs: &[&str]) -> Graph {
        Graph {
            subdirs: subdirs.iter().map(|s| s.to_string()).collect(),
            state: vec![[State::Waiting; 3]; subdirs.len()],
            libs: vec![None; subdirs.len()],
        }
    }

    fn state(&self, t: Task) -> State {
        self.state[t.sub][t.stage as usize]
    }

    fn is_done(&self, sub: usize, stage: Stage) -> bool {
        self.state[sub][stage as usize] == State::Done
    }

    fn deps_done(&self, t: Task) -> bool {
        match t.stage {
            Stage::Configure => true,
            Stage::Objects => self.is_done(t.sub, Stage::Configure),
            Stage::Link => {
                self.is_done(t.sub, Stage::Objects)
                    && self.libs[t.sub].as_ref().is_some_and(|l| l.iter().all(|&l| self.is_done(l, Stage::Link)))
            }
        }
    }

    /// Tasks that can start now, best first: the subdirectory order, then
    /// the stage (so sendmail's objects start as soon as its Makefile is
    /// there, ahead of the small programs' configure).
    pub(crate) fn ready(&self) -> Vec<Task> {
        let mut out = vec![];
        for sub in 0..self.subdirs.len() {
            for stage in Stage::ALL {
                let t = Task { sub, stage };
                if self.state(t) == State::Waiting && self.deps_done(t) {
                    out.push(t);
                }
            }
        }
        out
    }

    pub(crate) fn start(&mut self, t: Task) {
        debug_assert_eq!(self.state(t), State::Waiting);
        self.state[t.sub][t.stage as usize] = State::Running;
    }

    pub(crate) fn finish(&mut self, t: Task) {
        self.state[t.sub][t.stage as usize] = State::Done;
    }

    /// Records which libraries `sub` links, by subdirectory name.
    pub(crate) fn set_libraries(&mut self, sub: usize, libs: &[String]) -> Result<()> {
        let mut idx = vec![];
        for l in libs {
            match self.subdirs.iter().position(|s| s == l) {
                Some(i) if i == sub => bail!("{} lists itself among the libraries it links", self.subdirs[sub]),
                Some(i) => idx.push(i),
                None => bail!(
                    "{} links {l}, which is not among the subdirectories built ({})",
                    self.subdirs[sub],
                    self.subdirs.join(" ")
                ),
            }
        }
        self.libs[sub] = Some(idx);
        Ok(())
    }

    pub(crate) fn libraries(&self, sub: usize) -> Option<Vec<&str>> {
        self.libs[sub].as_ref().map(|l| l.iter().map(|&i| self.subdirs[i].as_str()).collect())
    }

    pub(crate) fn running(&self) -> usize {
        self.state.iter().flatten().filter(|s| **s == State::Running).count()
    }

    pub(crate) fn all_done(&self) -> bool {
        self.state.iter().flatten().all(|s| *s == State::Done)
    }

    /// Nothing runs, nothing is ready, yet work remains: the libraries
    /// depend on each other in a circle.
    pub(crate) fn stuck(&self) -> Option<String> {
        if self.all_done() || self.running() > 0 || !self.ready().is_empty() {
            return None;
        }
        let waiting: Vec<String> = (0..self.subdirs.len())
            .filter(|&s| !self.is_done(s, Stage::Link))
            .map(|s| format!("{} (links {})", self.subdirs[s], self.libraries(s).unwrap_or_default().join(", ")))
            .collect();
        Some(waiting.join("; "))
    }
}

/// The libraries a generated Makefile links from other subdirectories: the
/// `<sub>SMDEPLIBS=` line lists them as `<obj>/<lib>/<lib>.a`.
pub(crate) fn smdeplibs(makefile: &str, sub: &str) -> Option<Vec<String>> {
    let key = format!("{sub}SMDEPLIBS=");
    let line = makefile.lines().find(|l| l.starts_with(&key))?;
    let libs = line[key.len()..]
        .split_whitespace()
        .filter_map(|p| {
            let p = std::path::Path::new(p);
            p.parent().and_then(|d| d.file_name()).map(|d| d.to_string_lossy().into_owned())
        })
        .collect();
    Some(libs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &[&str] = &["sendmail", "libsm", "libsmutil", "mail.local"];

    fn t(sub: usize, stage: Stage) -> Task {
        Task { sub, stage }
    }

    #[test]
    fn reads_the_libraries_from_a_generated_makefile() {
        let mk = "sendmailOBJS= main.o\nsendmailSMDEPLIBS= /w/src/obj./libsm/libsm.a  /w/src/obj./libsmutil/libsmutil.a \nsendmailTARGET_LINKS=\n";
        assert_eq!(smdeplibs(mk, "sendmail").unwrap(), ["libsm", "libsmutil"]);
        assert_eq!(smdeplibs("libsmSMDEPLIBS= \n", "libsm").unwrap(), Vec::<String>::new());
        assert_eq!(smdeplibs("mail.localSMDEPLIBS= /o/libsm/libsm.a\n", "mail.local").unwrap(), ["libsm"]);
        assert!(smdeplibs("OBJS=x\n", "sendmail").is_none());
    }

    #[test]
    fn objects_overlap_libraries_and_links_wait_for_them() {
        let mut g = Graph::new(ORDER);
        assert_eq!(g.ready().len(), 4, "every configure can start at once");
        assert_eq!(g.ready()[0], t(0, Stage::Configure));
        g.start(t(0, Stage::Configure));
        g.finish(t(0, Stage::Configure));
        g.set_libraries(0, &["libsm".into(), "libsmutil".into()]).unwrap();
        // sendmail's objects come before the libraries' configure
        assert_eq!(g.ready()[0], t(0, Stage::Objects));
        g.start(t(0, Stage::Objects));
        g.finish(t(0, Stage::Objects));
        assert!(!g.ready().contains(&t(0, Stage::Link)), "sendmail links only after libsm and libsmutil");
        for lib in [1, 2] {
            for stage in Stage::ALL {
                assert!(g.ready().contains(&t(lib, stage)), "{lib} {stage:?}: {:?}", g.ready());
                g.start(t(lib, stage));
                g.finish(t(lib, stage));
                if stage == Stage::Configure {
                    g.set_libraries(lib, &[]).unwrap();
                }
            }
        }
        assert_eq!(g.ready()[0], t(0, Stage::Link));
        assert_eq!(g.libraries(0).unwrap(), ["libsm", "libsmutil"]);
        assert!(g.stuck().is_none());
        assert!(!g.all_done());
    }

    #[test]
    fn unknown_and_circular_libraries_are_reported() {
        let mut g = Graph::new(ORDER);
        assert!(g.set_libraries(3, &["libmilter".into()]).unwrap_err().to_string().contains("libmilter"));
        assert!(g.set_libraries(1, &["libsm".into()]).is_err());
        g.set_libraries(1, &["libsmutil".into()]).unwrap();
        g.set_libraries(2, &["libsm".into()]).unwrap();
        for sub in [1, 2] {
            for stage in [Stage::Configure, Stage::Objects] {
                g.start(t(sub, stage));
                g.finish(t(sub, stage));
            }
        }
        for sub in [0, 3] {
            for stage in Stage::ALL {
                g.start(t(sub, stage));
                g.finish(t(sub, stage));
            }
        }
        let why = g.stuck().expect("libsm and libsmutil wait for each other");
        assert!(why.contains("libsm (links libsmutil)") && why.contains("libsmutil (links libsm)"), "{why}");
    }
}
