//! Recovery without a restart (issue 11, item 12): a store that fails for a while recovers by
//! itself once the condition is gone, with no connection left behind in a bad state.
//! - SQLite on a full disk (a small tmpfs filled up; needs root to mount it): the failed commits
//!   are transient errors, and once space is freed every write succeeds again (before: the
//!   pool kept a connection stuck in its failed transaction, "attempted to call begin_with at
//!   non-zero transaction depth", until a restart);
//! - SQLite made read-only (the file made immutable with `chattr +i`, which binds root too):
//!   connections opened meanwhile would stay read-only for their whole life; they are refused
//!   as a transient error instead, and writes succeed again once the file is writable;
//! - an unreachable PostgreSQL fails at once with the real cause ("connection refused"), not
//!   after the pool's acquire timeouts.

mod common;

use std::path::Path;
use std::process::Command;

use dualsync::engine::state::StateStore;
use dualsync::store::sql::SqlStore;
use dualsync::store::{Cursor, ErrorKind, Position};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc_geteuid() == 0 }
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

fn run(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd).args(args).status().is_ok_and(|s| s.success())
}

/// A tmpfs of `size` mounted on `dir`, unmounted when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(dir).unwrap();
        assert!(
            run(
                "mount",
                &[
                    "-t",
                    "tmpfs",
                    "-o",
                    &format!("size={size}"),
                    "tmpfs",
                    dir.to_str().unwrap()
                ]
            ),
            "mounting a tmpfs on {} failed",
            dir.display()
        );
        SmallDisk(dir.to_path_buf())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = run("umount", &["-l", self.0.to_str().unwrap()]);
    }
}

/// Fills the file system holding `path` (writes `path` until ENOSPC).
fn fill(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    // Partial chunks until not even a page fits.
    let small = vec![0u8; 512];
    while f.write_all(&small).is_ok() {}
    let _ = f.sync_all();
}

fn cursor(seq: i64) -> Position {
    Cursor { epoch: 0, seq }.into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_transient_and_recovers_once_freed_on_sqlite() {
    if !is_root() {
        eprintln!("skipped: mounting a small file system needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("disk");
    let _disk = SmallDisk::mount(&mnt, "2m");
    let url = format!("sqlite://{}", mnt.join("state.db").display());
    let state = StateStore::open(&url).await.unwrap();
    state.set_cursor("m", "operational", "e", &cursor(1)).await.unwrap();

    fill(&mnt.join("filler"));
    // Write until the disk refuses (the first few may still fit in free pages).
    let mut failures = Vec::new();
    for i in 0..200 {
        let key = format!("map-{i}-{}", "x".repeat(180));
        if let Err(e) = state.set_cursor(&key, "operational", "e", &cursor(i)).await {
            failures.push(e);
        }
        if failures.len() >= 8 {
            break;
        }
    }
    assert!(!failures.is_empty(), "the full disk refused nothing");
    for e in &failures {
        assert_eq!(e.kind, ErrorKind::Transient, "a full disk is transient: {e}");
    }

    std::fs::remove_file(mnt.join("filler")).unwrap();
    for i in 0..40 {
        state
            .set_cursor("m", "operational", "e", &cursor(100 + i))
            .await
            .unwrap_or_else(|e| panic!("write {i} after space was freed failed: {e}"));
    }
    assert_eq!(
        state.get_cursor("m", "operational", "e").await.unwrap(),
        Some(cursor(139))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_store_is_transient_and_recovers_once_writable_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.db");
    let url = format!("sqlite://{}", file.display());
    let state = StateStore::open(&url).await.unwrap();
    state.set_cursor("m", "operational", "e", &cursor(1)).await.unwrap();

    // Immutable: no process, root included, may open it for writing (setting it needs root).
    if !is_root() {
        eprintln!("skipped: making a file immutable needs root");
        return;
    }
    assert!(
        run("chattr", &["+i", file.to_str().unwrap()]),
        "chattr +i failed on {} (a file system without immutable files?)",
        file.display()
    );
    struct Mutable(std::path::PathBuf);
    impl Drop for Mutable {
        fn drop(&mut self) {
            let _ = run("chattr", &["-i", self.0.to_str().unwrap()]);
        }
    }
    let guard = Mutable(file.clone());
    // Concurrent writes make the pool open connections while the file is read-only.
    let writes = (0..8).map(|i| {
        let s = state.clone();
        async move { s.set_cursor(&format!("m{i}"), "operational", "e", &cursor(i)).await }
    });
    let results = futures_util::future::join_all(writes).await;
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(e.kind, ErrorKind::Transient, "a read-only store is transient: {e}");
    }
    // A new opener sees it too, as a transient error naming the cause.
    match StateStore::open(&url).await {
        Ok(s) => {
            let e = s.set_cursor("n", "operational", "e", &cursor(1)).await.unwrap_err();
            assert_eq!(e.kind, ErrorKind::Transient, "{e}");
        }
        Err(e) => assert_eq!(e.kind, ErrorKind::Transient, "{e}"),
    }

    drop(guard);
    let writes = (0..16).map(|i| {
        let s = state.clone();
        async move {
            s.set_cursor(&format!("m{i}"), "operational", "e", &cursor(100 + i))
                .await
        }
    });
    for (i, r) in futures_util::future::join_all(writes).await.into_iter().enumerate() {
        r.unwrap_or_else(|e| panic!("write {i} once writable again failed: {e}"));
    }
    for i in 0..16 {
        state
            .set_cursor("m", "operational", "e", &cursor(200 + i))
            .await
            .unwrap_or_else(|e| panic!("write {i} once writable again failed: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_postgres_fails_at_once_with_the_cause() {
    // Port 9 (discard) on loopback: nothing listens, so the connection is refused.
    let url = "postgres://postgres@127.0.0.1:9/recovery_unreachable";
    let Err(e) = SqlStore::open(url).await else {
        panic!("nothing listens on {url}");
    };
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    assert!(
        e.to_string().to_lowercase().contains("connection refused"),
        "the real cause: {e}"
    );
    let e = StateStore::open(url).await.unwrap_err();
    assert!(
        e.to_string().to_lowercase().contains("connection refused"),
        "the real cause: {e}"
    );
}
