//! `rcu-check review`: a posted patch against its base tree, both run as C.
//!
//! The base tree's `util/`, `include/` and `linux-headers/` are copied to a
//! scratch directory and the patches (mbox mails from the list, a reply
//! with a diff inside, or `git format-patch` files, in order) are applied
//! there with `git apply`; hunks outside those directories are not compiled
//! and are skipped (and listed).  Base patches (`--base-patch`) are applied
//! first, to a copy of their own, and that copy is the base: a diff posted
//! on top of an unmerged series is reviewed against the series.  Both trees become versions (`c:base`, `c:patched`); the matrix
//! runs on both; the C sites (fences and ordered atomics, by C line) that the
//! patch adds, removes or moves into another function are listed with their
//! mutant status in the patched tree; every cell that the patch turns from
//! holding into violated gets a C-level counterexample.
#![allow(clippy::disallowed_types)]

use std::path::{Path, PathBuf};
use std::process::Command;

use models::Version;
use rcu_core::site::Site;

use crate::cell::{CellResult, CellSpec};

/// What `git apply` is given of each patch: the directories cfront compiles.
pub const COMPILED: [&str; 3] = ["util/*", "include/*", "linux-headers/*"];

/// The trees a review compares.
#[derive(Debug)]
pub struct Applied {
    /// The base as checked: the given tree, or a copy with the base patches applied.
    pub base: PathBuf,
    /// The base with the patches applied.
    pub patched: PathBuf,
    /// Files the patches (and base patches) touch outside what is compiled.
    pub outside: Vec<String>,
}

/// Copy `base`'s compiled directories to a scratch directory and apply
/// `base_patches` there, in order: that is the base the review checks (the
/// given tree itself when there are none).  Then copy it and apply `patches`,
/// in order: the patched tree.  A patch may be a whole list mail (a reply
/// whose diff sits after prose or between `===8<===` lines, with quoted text
/// around it): `git apply` reads only its `diff --git` sections.  Errors are
/// one line (a patch that does not apply names the hunk, and says whether it
/// is a `--base-patch` or a `--patch`).
pub fn apply(base: &Path, base_patches: &[PathBuf], patches: &[PathBuf]) -> Result<Applied, String> {
    if !base.join("util/rcu.c").is_file() {
        return Err(format!("--base {}: not a QEMU tree (no util/rcu.c)", base.display()));
    }
    if patches.is_empty() {
        return Err("no --patch given (an mbox from the list or git format-patch files, in order)".into());
    }
    for (flag, p) in base_patches.iter().map(|p| ("--base-patch", p)).chain(patches.iter().map(|p| ("--patch", p))) {
        if !p.is_file() {
            return Err(format!("{flag} {}: no such file", p.display()));
        }
    }
    let scratch = std::env::temp_dir().join(format!("rcu-check-review-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let mut outside = vec![];
    let base_dir = if base_patches.is_empty() {
        base.to_path_buf()
    } else {
        let dir = scratch.join("base");
        copy_tree(base, &dir)?;
        apply_all(&dir, "--base-patch", base_patches, &base.display().to_string(), &mut outside)?;
        dir
    };
    let dir = if base_patches.is_empty() { scratch.clone() } else { scratch.join("patched") };
    copy_tree(&base_dir, &dir)?;
    let what = std::iter::once(base.display().to_string())
        .chain(base_patches.iter().map(|p| p.display().to_string()))
        .collect::<Vec<_>>()
        .join(" + ");
    apply_all(&dir, "--patch", patches, &what, &mut outside)?;
    Ok(Applied { base: base_dir, patched: dir, outside })
}

/// A fresh `dst` with `src`'s compiled directories.
fn copy_tree(src: &Path, dst: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dst);
    std::fs::create_dir_all(dst).map_err(|e| format!("cannot create {}: {e}", dst.display()))?;
    for sub in ["util", "include", "linux-headers"] {
        if src.join(sub).is_dir() {
            let st = Command::new("cp").arg("-r").arg(src.join(sub)).arg(dst).status();
            if !st.is_ok_and(|s| s.success()) {
                return Err(format!("cannot copy {}/{sub} to {}", src.display(), dst.display()));
            }
        }
    }
    Ok(())
}

/// `git apply` each of `patches` in `dir`, in order; `onto` names the tree in
/// errors.  Each must change something that is compiled.
fn apply_all(dir: &Path, flag: &str, patches: &[PathBuf], onto: &str, outside: &mut Vec<String>) -> Result<(), String> {
    let mut compiled_files = 0;
    let mut touched = vec![];
    for p in patches {
        let abs = p.canonicalize().unwrap_or(p.clone());
        let mut cmd = Command::new("git");
        // The scratch copy is no repository: keep git from finding one around it
        // (inside a work tree, git apply takes paths from the top of that tree).
        let ceiling = dir.parent().unwrap_or(dir);
        cmd.current_dir(dir).env("GIT_CEILING_DIRECTORIES", ceiling).args(["apply", "--recount"]);
        for inc in COMPILED {
            cmd.arg(format!("--include={inc}"));
        }
        let out = cmd.arg(&abs).output().map_err(|e| format!("cannot run git apply: {e}"))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let why = err
                .lines()
                .find(|l| {
                    l.contains("patch failed")
                        || l.contains("does not exist")
                        || l.contains("corrupt")
                        || l.contains("No valid patches")
                })
                .or_else(|| err.lines().find(|l| l.starts_with("error: ")))
                .or_else(|| err.lines().next())
                .unwrap_or("git apply failed")
                .trim_start_matches("error: ");
            return Err(format!("{flag} {} does not apply to {onto}: {why}", p.display()));
        }
        let stat = Command::new("git")
            .current_dir(dir)
            .env("GIT_CEILING_DIRECTORIES", ceiling)
            .args(["apply", "--numstat"])
            .arg(&abs)
            .output();
        if let Ok(o) = stat {
            for l in String::from_utf8_lossy(&o.stdout).lines() {
                let f = l.split('\t').nth(2).unwrap_or("").to_string();
                let compiled = ["util/", "include/", "linux-headers/"].iter().any(|d| f.starts_with(d));
                if compiled {
                    compiled_files += 1;
                } else if !f.is_empty() && !touched.contains(&f) {
                    touched.push(f.clone());
                    if !outside.contains(&f) {
                        outside.push(f);
                    }
                }
            }
        }
    }
    if compiled_files == 0 {
        return Err(format!(
            "the {flag} files change nothing under util/, include/ or linux-headers/ (they touch: {}), so the C under check is unchanged",
            if touched.is_empty() { "no file".to_string() } else { touched.join(", ") }
        ));
    }
    Ok(())
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

/// Give each base cell its scenario's patched cell's bounds, so that the two
/// columns of a row differ only in the C (a scenario's per-version bound
/// override follows the port a tree is checked against, and the base and
/// patched trees may have different ports, e.g. a patch that adds
/// `force_rcu()`).  Returns the scenarios whose loom bound is not the
/// scenario's default, with that bound.
pub fn same_bounds(cells: &mut [CellSpec], patched: Version) -> Vec<(&'static str, usize)> {
    let of_patched: Vec<(&'static str, crate::harness::Bounds)> =
        cells.iter().filter(|c| c.version == patched).map(|c| (c.scenario.name, c.bounds.clone())).collect();
    let mut other = vec![];
    for c in cells.iter_mut() {
        if let Some((_, b)) = of_patched.iter().find(|(n, _)| *n == c.scenario.name) {
            c.bounds = b.clone();
        }
    }
    for (name, b) in &of_patched {
        let s = crate::catalog::find(name).expect("a catalog scenario");
        if s.checker == crate::harness::Checker::Loom && b.preemption_bound != s.preemption_bound {
            other.push((*name, b.preemption_bound));
        }
    }
    other
}

/// The scenarios that can kill a mutant of `site` in the patched tree: the
/// port's killers ([`crate::mutants::killers`]) that held on the unmutated
/// patched tree in this review, or that the review did not run (a
/// primitive's scenarios).  A scenario the patch already fails cannot judge
/// its barriers.
pub fn killers(results: &[CellResult], patched: Version, site: &Site) -> Vec<&'static crate::catalog::Scenario> {
    crate::mutants::killers(patched, site)
        .into_iter()
        .filter(|s| {
            results
                .iter()
                .find(|r| r.spec.version == patched && r.spec.scenario.name == s.name)
                .is_none_or(|r| matches!(r.outcome.verdict, crate::harness::Verdict::Holds))
        })
        .collect()
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
