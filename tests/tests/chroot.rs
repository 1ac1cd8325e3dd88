//! The chroot harness itself: a fresh bookworm from the host's own mirror,
//! main only, daemons forbidden, gone after the test.

use smtls_tests::chroot::{self, Chroot};

#[test]
fn chroot_is_plain_bookworm_and_goes_away() {
    chroot::require();
    let dir;
    {
        let c = Chroot::new("chroot-harness").unwrap();
        dir = c.root.clone();
        let v = c.ok("cat /etc/debian_version; hostname; cat /etc/apt/sources.list; apt-cache policy").unwrap();
        assert!(v.starts_with("12."), "{v}");
        assert!(v.contains("mx.smtls-test.example"), "{v}");
        assert!(!v.contains("-security") && !v.contains("-updates"), "only the plain suite: {v}");
        assert!(!v.contains(" contrib") && !v.contains(" non-free"), "main only: {v}");
        // policy-rc.d forbids starting daemons.
        let out = c.run("/usr/sbin/policy-rc.d x start").unwrap();
        assert_eq!(out.status.code(), Some(101));
        // /proc is mounted inside, and not in the host's namespace.
        c.ok("test -r /proc/self/status").unwrap();
        assert!(!std::fs::read_to_string("/proc/self/mountinfo").unwrap().contains(&*dir.to_string_lossy()));
        // A process left running is ended when the chroot goes.
        c.ok("sleep 300 >/dev/null 2>&1 &").unwrap();
        assert_eq!(c.processes().len(), 1, "{:?}", c.processes());
    }
    assert!(!dir.exists(), "{} survived", dir.display());
}
