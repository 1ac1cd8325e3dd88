//! Running the task graph: one GNU make jobserver with N tokens shared by
//! every make the build starts, so N compilers run at any moment whichever
//! subdirectories they belong to.
//!
//! Each task holds one token for its process (the implicit slot of the make
//! it starts); that make takes further tokens from the same pool for its
//! parallel jobs. Tokens go to ready tasks in the graph's priority order.
//! When a task fails, the processes of the others are sent SIGTERM (GNU make
//! passes it on to its compilers) and the first failure is reported.

use super::graph::{Graph, Stage, Task};
use anyhow::{anyhow, Context, Result};
use std::collections::HashMap;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a finished task reports back.
pub(crate) struct Outcome {
    /// For `Configure`: the libraries the subdirectory links.
    pub libraries: Option<Vec<String>>,
}

/// Child processes of running tasks, by task, so a failure can stop them.
#[derive(Clone, Default)]
pub(crate) struct Children(Arc<Mutex<HashMap<(usize, Stage), u32>>>);

impl Children {
    /// Spawns `cmd` for task `t`, waits for it and returns its status.
    pub(crate) fn run(&self, t: Task, cmd: &mut Command) -> std::io::Result<std::process::ExitStatus> {
        let mut child: Child = crate::proc::spawn(cmd)?;
        self.0.lock().expect("children lock").insert((t.sub, t.stage), child.id());
        let status = crate::proc::wait(&mut child);
        self.0.lock().expect("children lock").remove(&(t.sub, t.stage));
        status
    }

    /// SIGTERM to every running task's process group (each task's make
    /// leads a group of its own; its leader has not been reaped, so the
    /// group id is still its own).
    fn terminate_all(&self) {
        for pid in self.0.lock().expect("children lock").values() {
            crate::proc::kill_group(*pid as i32, libc::SIGTERM);
        }
    }
}

enum Event {
    Token(std::io::Result<jobserver::Acquired>),
    Done(Task, Duration, Result<Outcome>),
}

/// Progress of one finished task, for the caller's report.
pub(crate) struct Finished {
    pub(crate) task: Task,
    pub took: Duration,
}

/// Runs every task of `graph`, `jobs` at a time. `exec` runs one task; it
/// must start its make through `client.configure_make` and its processes
/// through `children.run`. `on_done` sees each task as it finishes.
pub(crate) fn run(
    graph: &mut Graph,
    jobs: usize,
    exec: &(dyn Fn(Task, &jobserver::Client, &Children) -> Result<Outcome> + Sync),
    on_done: &mut dyn FnMut(&Graph, Finished),
) -> Result<()> {
    let client = jobserver::Client::new(jobs.max(1)).context("creating a make jobserver")?;
    let children = Children::default();
    let (tx, rx) = mpsc::channel::<Event>();
    let (want_tx, want_rx) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        // Asks the jobserver for one token per request, in order.
        let acquirer_tx = tx.clone();
        let acquirer_client = client.clone();
        scope.spawn(move || {
            while want_rx.recv().is_ok() {
                if acquirer_tx.send(Event::Token(acquirer_client.acquire())).is_err() {
                    break;
                }
            }
        });
        let mut requested = 0usize;
        let mut failure: Option<anyhow::Error> = None;
        loop {
            let ready = if failure.is_none() { graph.ready().len() } else { 0 };
            while requested < ready {
                let _ = want_tx.send(());
                requested += 1;
            }
            if graph.running() == 0 && (failure.is_some() || graph.all_done()) {
                break;
            }
            if let (None, Some(why)) = (&failure, graph.stuck()) {
                failure = Some(anyhow!("the subdirectories' libraries depend on each other in a circle: {why}"));
                break;
            }
            match rx.recv().expect("the scheduler holds a sender") {
                Event::Token(token) => {
                    requested -= 1;
                    let token = match token {
                        Ok(t) => t,
                        Err(e) => {
                            failure.get_or_insert(anyhow!(e).context("taking a jobserver token"));
                            children.terminate_all();
                            continue;
                        }
                    };
                    let Some(task) = (failure.is_none()).then(|| graph.ready().first().copied()).flatten() else {
                        continue; // dropping the token gives it back
                    };
                    graph.start(task);
                    let (tx, client, children) = (tx.clone(), client.clone(), children.clone());
                    scope.spawn(move || {
                        let start = Instant::now();
                        // A panic must still report back, or the loop would wait forever.
                        let result =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| exec(task, &client, &children)))
                                .unwrap_or_else(|_| Err(anyhow!("the {} task panicked", task.stage.name())));
                        drop(token);
                        let _ = tx.send(Event::Done(task, start.elapsed(), result));
                    });
                }
                Event::Done(task, took, result) => {
                    graph.finish(task);
                    match result {
                        Ok(outcome) => {
                            if let Some(libs) = outcome.libraries {
                                if let Err(e) = graph.set_libraries(task.sub, &libs) {
                                    failure.get_or_insert(e);
                                    children.terminate_all();
                                }
                            }
                            on_done(graph, Finished { task, took });
                        }
                        Err(e) => {
                            if failure.is_none() {
                                failure = Some(e);
                                children.terminate_all();
                            }
                        }
                    }
                }
            }
        }
        drop(want_tx);
        // A token requested but not used is given back when the acquirer's
        // message is dropped with the receiver.
        drop(rx);
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const SUBS: &[&str] = &["sendmail", "libsm", "libsmutil", "rmail"];

    fn libs_of(sub: &str) -> Vec<String> {
        match sub {
            "sendmail" => vec!["libsm".into(), "libsmutil".into()],
            "rmail" => vec!["libsm".into()],
            _ => vec![],
        }
    }

    /// Runs the scheduler with tasks that sleep instead of starting make.
    fn schedule(jobs: usize, fail: Option<(&str, Stage)>) -> (Result<()>, Vec<Task>, usize) {
        let mut graph = Graph::new(SUBS);
        let order = Mutex::new(vec![]);
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let exec = |t: Task, _: &jobserver::Client, _: &Children| -> Result<Outcome> {
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(n, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
            now.fetch_sub(1, Ordering::SeqCst);
            if fail == Some((SUBS[t.sub], t.stage)) {
                anyhow::bail!("{} {} failed", SUBS[t.sub], t.stage.name());
            }
            order.lock().unwrap().push(t);
            let libraries = (t.stage == Stage::Configure).then(|| libs_of(SUBS[t.sub]));
            Ok(Outcome { libraries })
        };
        let result = run(&mut graph, jobs, &exec, &mut |_, _| {});
        (result, order.into_inner().unwrap(), most.load(Ordering::SeqCst))
    }

    #[test]
    fn every_task_runs_once_after_what_it_needs_and_no_more_than_jobs_at_once() {
        let (result, order, most) = schedule(2, None);
        result.unwrap();
        assert_eq!(order.len(), SUBS.len() * 3);
        assert!(most <= 2, "{most} tasks ran at once with 2 jobs");
        let pos = |sub: usize, stage: Stage| order.iter().position(|t| *t == Task { sub, stage }).unwrap();
        for sub in 0..SUBS.len() {
            assert!(pos(sub, Stage::Configure) < pos(sub, Stage::Objects));
            assert!(pos(sub, Stage::Objects) < pos(sub, Stage::Link));
        }
        assert!(pos(0, Stage::Link) > pos(1, Stage::Link) && pos(0, Stage::Link) > pos(2, Stage::Link));
        assert!(pos(3, Stage::Link) > pos(1, Stage::Link));
        let (_, _, most) = schedule(1, None);
        assert_eq!(most, 1);
    }

    #[test]
    fn a_failure_stops_what_depends_on_it_and_is_reported() {
        let (result, order, _) = schedule(2, Some(("libsm", Stage::Objects)));
        let e = result.unwrap_err().to_string();
        assert_eq!(e, "libsm objects failed");
        assert!(!order.contains(&Task { sub: 0, stage: Stage::Link }), "sendmail must not link without libsm");
        assert!(!order.contains(&Task { sub: 1, stage: Stage::Link }));
    }
}
