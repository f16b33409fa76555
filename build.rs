//! Names the git commit the binary was built from, for `ecbulk --version`: a bug
//! report then says exactly which code ran. Builds without git, or from a tarball
//! unpacked inside some other repository, say `unknown` instead.

use std::path::Path;
use std::process::Command;

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let commit = git(&manifest_dir, &["rev-parse", "--short", "HEAD"])
        .filter(|_| is_own_repository(&manifest_dir))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=ECBULK_GIT_COMMIT={commit}");

    println!("cargo:rerun-if-changed=build.rs");
    // Rebuild when HEAD moves: a new commit, a checkout, a merge. `--git-path` finds
    // the right files in a linked worktree too.
    for name in ["HEAD", "packed-refs"] {
        watch(&manifest_dir, name);
    }
    if let Some(branch) = git(&manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
        watch(&manifest_dir, &branch);
    }
}

/// Whether the repository git finds is this crate's own, not one it sits inside.
fn is_own_repository(manifest_dir: &str) -> bool {
    let Some(top) = git(manifest_dir, &["rev-parse", "--show-toplevel"]) else {
        return false;
    };
    let canonical = |p: &Path| p.canonicalize().ok();
    canonical(Path::new(&top)).is_some()
        && canonical(Path::new(&top)) == canonical(Path::new(manifest_dir))
}

fn watch(manifest_dir: &str, name: &str) {
    if let Some(path) = git(manifest_dir, &["rev-parse", "--git-path", name]) {
        let path = Path::new(manifest_dir).join(path);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// A git command's trimmed output, or `None` when git is missing or fails.
fn git(dir: &str, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}
