//! Names the commit a binary was built from, for `vigil --version`:
//! `VIGIL_VERSION` is the package version and the short hash, with `-dirty`
//! when the files the binary is built from differ from that commit, or
//! `unknown` outside a git checkout of this crate (a crates.io tarball, a
//! vendored copy inside another repo).

use std::path::Path;
use std::process::Command;

/// What goes into the binary: the code, and the files it embeds. Changes
/// elsewhere (docs, tests) leave the binary as the commit has it.
const BUILT_FROM: [&str; 7] =
    ["src", "build.rs", "Cargo.toml", "Cargo.lock", "dashboards", "themes", "config.example.toml"];

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let commit = commit(Path::new(&dir)).unwrap_or_else(|| "unknown".into());
    let version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    println!("cargo:rustc-env=VIGIL_VERSION={version} (commit {commit})");
}

/// The short hash of HEAD and whether the tree differs from it, when `dir`
/// is the top of a git work tree. Also tells cargo which files to watch so
/// that a commit, a checkout or an edit brings the text up to date.
fn commit(dir: &Path) -> Option<String> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    // HEAD names the branch (or, detached, the commit); the branch's file
    // or packed-refs names the commit. A worktree keeps these in different
    // places, which --git-path resolves. Only existing files are named:
    // cargo reruns every time for a missing one.
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    watch.extend(git(dir, &["symbolic-ref", "-q", "HEAD"]));
    for name in watch {
        if let Some(path) = git(dir, &["rev-parse", "--git-path", &name]) {
            let path = dir.join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    // Edits that are not staged yet change the files, not the index.
    for path in BUILT_FROM {
        println!("cargo:rerun-if-changed={path}");
    }
    let hash = git(dir, &["rev-parse", "--short=12", "HEAD"])?;
    let mut status = vec!["status", "--porcelain", "--untracked-files=no", "--"];
    status.extend(BUILT_FROM);
    let status = git(dir, &status)?;
    Some(if status.is_empty() { hash } else { format!("{hash}-dirty") })
}

/// One git command's trimmed stdout; None when git is missing or fails.
/// No optional locks: `status` would otherwise refresh the index, and the
/// index's new time would make cargo run this script again next build.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("--no-optional-locks").arg("-C").arg(dir).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
