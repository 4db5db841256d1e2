//! `rcu-check review`: a posted patch against its base tree, both run as C.
//!
//! The base tree's `util/`, `include/` and `linux-headers/` are copied to a
//! scratch directory and the patches (mbox mails from the list or
//! `git format-patch` files, in order) are applied there with `git apply`;
//! hunks outside those directories are not compiled and are skipped (and
//! listed).  Both trees become versions (`c:base`, `c:patched`); the matrix
//! runs on both; the C sites (fences and ordered atomics, by C line) that the
//! patch adds, removes or moves into another function are listed with their
//! mutant status in the patched tree; every cell that the patch turns from
//! holding into violated gets a C-level counterexample.
#![allow(clippy::disallowed_types)]

use std::path::{Path, PathBuf};
use std::process::Command;

use models::Version;
use rcu_core::site::Site;

use crate::cell::CellResult;

/// What `git apply` is given of each patch: the directories cfront compiles.
pub const COMPILED: [&str; 3] = ["util/*", "include/*", "linux-headers/*"];

/// Copy `base`'s compiled directories to a scratch directory and apply
/// `patches` there, in order.  Returns the directory and the files the
/// patches touch outside what is compiled.  Errors are one line (a patch that
/// does not apply names the hunk).
pub fn apply(base: &Path, patches: &[PathBuf]) -> Result<(PathBuf, Vec<String>), String> {
    if !base.join("util/rcu.c").is_file() {
        return Err(format!("--base {}: not a QEMU tree (no util/rcu.c)", base.display()));
    }
    if patches.is_empty() {
        return Err("no --patch given (an mbox from the list or git format-patch files, in order)".into());
    }
    for p in patches {
        if !p.is_file() {
            return Err(format!("--patch {}: no such file", p.display()));
        }
    }
    let dir = std::env::temp_dir().join(format!("rcu-check-review-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for sub in ["util", "include", "linux-headers"] {
        if base.join(sub).is_dir() {
            let st = Command::new("cp").arg("-r").arg(base.join(sub)).arg(&dir).status();
            if !st.is_ok_and(|s| s.success()) {
                return Err(format!("cannot copy {}/{sub} to {}", base.display(), dir.display()));
            }
        }
    }
    let mut outside = vec![];
    let mut compiled_files = 0;
    for p in patches {
        let abs = p.canonicalize().unwrap_or(p.clone());
        let mut cmd = Command::new("git");
        cmd.current_dir(&dir).args(["apply", "--recount"]);
        for inc in COMPILED {
            cmd.arg(format!("--include={inc}"));
        }
        let out = cmd.arg(&abs).output().map_err(|e| format!("cannot run git apply: {e}"))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let why = err
                .lines()
                .find(|l| l.contains("patch failed") || l.contains("does not exist") || l.contains("corrupt"))
                .or_else(|| err.lines().next())
                .unwrap_or("git apply failed")
                .trim_start_matches("error: ");
            return Err(format!("--patch {} does not apply to {}: {why}", p.display(), base.display()));
        }
        let stat = Command::new("git").current_dir(&dir).args(["apply", "--numstat"]).arg(&abs).output();
        if let Ok(o) = stat {
            for l in String::from_utf8_lossy(&o.stdout).lines() {
                let f = l.split('\t').nth(2).unwrap_or("").to_string();
                let compiled = ["util/", "include/", "linux-headers/"].iter().any(|d| f.starts_with(d));
                if compiled {
                    compiled_files += 1;
                } else if !f.is_empty() && !outside.contains(&f) {
                    outside.push(f);
                }
            }
        }
    }
    if compiled_files == 0 {
        return Err(format!(
            "the patches change nothing under util/, include/ or linux-headers/ (they touch: {}), so the C under check is the base's",
            if outside.is_empty() { "no file".to_string() } else { outside.join(", ") }
        ));
    }
    Ok((dir, outside))
}

/// How the patch changes the C sites.
#[derive(Debug, Default)]
pub struct SiteDiff {
    /// In the patched tree only.
    pub added: Vec<&'static Site>,
    /// In the base only.
    pub removed: Vec<&'static Site>,
    /// The same statement, now in another function: (base, patched).
    pub moved: Vec<(&'static Site, &'static Site)>,
}

fn stmt(s: &Site) -> (&str, &str) {
    let file = s.id.rsplit_once(':').map(|(f, _)| f).unwrap_or("");
    let text = s.c_ref.split_once(' ').map(|(_, t)| t).unwrap_or("");
    (file, text)
}

/// Sites matched by file and statement text (the n-th occurrence with the
/// n-th), so that lines shifted by the patch are not changes.
pub fn site_diff(base: Version, patched: Version) -> SiteDiff {
    let (b, p) = (base.sites(), patched.sites());
    let mut used = vec![false; p.len()];
    let mut d = SiteDiff::default();
    for bs in &b {
        match p.iter().enumerate().find(|(i, ps)| !used[*i] && stmt(ps) == stmt(bs)) {
            Some((i, ps)) => {
                used[i] = true;
                if ps.func != bs.func {
                    d.moved.push((bs, ps));
                }
            }
            None => d.removed.push(bs),
        }
    }
    d.added = p.iter().enumerate().filter(|(i, _)| !used[*i]).map(|(_, s)| *s).collect();
    d
}

/// The cells of one scenario on base and patched.
pub fn changed(results: &[CellResult], base: Version, patched: Version) -> Vec<(&CellResult, &CellResult)> {
    let mut v = vec![];
    for b in results.iter().filter(|r| r.spec.version == base) {
        if let Some(p) =
            results.iter().find(|r| r.spec.version == patched && r.spec.scenario.name == b.spec.scenario.name)
        {
            v.push((b, p));
        }
    }
    v
}

/// The verdict as the review compares it (the matrix's `--compare` key).
pub use crate::matrix::verdict_key as verdict;

/// Whether the patch made this cell fail where the base did not.
pub fn is_new_violation(b: &CellResult, p: &CellResult) -> bool {
    matches!(p.outcome.verdict, crate::harness::Verdict::Violated { .. }) && verdict(b) != verdict(p)
}
