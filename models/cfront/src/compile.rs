//! C → LLVM IR with Debian's `clang-14`, as QEMU builds: `-O2 -g`.
//!
//! `-O2` matters: the checked IR is what the compiler may legally make of
//! the C, so a plain access that the optimiser moves across another plain
//! access, merges or drops is checked *as moved*.  Atomics and fences are not
//! reordered by LLVM against each other beyond what C11 allows, and their
//! orderings survive into the IR.  `-g` gives every instruction its C
//! `file:line` for error messages.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// The one line printed when clang-14 is missing.
pub const CLANG_MISSING: &str =
    "clang-14 not found: run `ci/setup-c.sh` (as root it runs `apt-get install -y clang-14`; LLVM 14 is the version llvm-ir reads)";

/// Find `clang-14` on `PATH` (or `$CFRONT_CLANG`).  When it is missing, run
/// the project's `ci/setup-c.sh` once per process (as root it installs
/// clang-14 with apt; otherwise it prints what to install), so that the
/// README's test command needs nothing installed by hand.
pub fn find_clang() -> Result<PathBuf, Error> {
    if let Some(c) = std::env::var_os("CFRONT_CLANG") {
        return Ok(PathBuf::from(c));
    }
    let search = || {
        let path = std::env::var_os("PATH").unwrap_or_default();
        find_clang_in(std::env::split_paths(&path).chain([PathBuf::from("/usr/lib/llvm-14/bin")]))
    };
    if let Ok(c) = search() {
        return Ok(c);
    }
    run_setup_once();
    search()
}

/// Run the project's `ci/setup-c.sh` once per process: as root it installs
/// what the C front end needs (clang-14, llvm-14-dev, glib's headers) with
/// apt; otherwise it prints one line saying what to install.  Called when a
/// lookup fails, so the README's test command needs nothing installed by hand.
pub fn run_setup_once() {
    static SETUP: std::sync::Once = std::sync::Once::new();
    SETUP.call_once(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ci/setup-c.sh");
        if script.is_file() {
            let _ = Command::new("bash").arg(&script).status();
        }
    });
}

/// [`find_clang`] over the given directories only: `clang-14`, or the
/// `clang` of an `llvm-14/bin` directory.
pub fn find_clang_in(dirs: impl IntoIterator<Item = PathBuf>) -> Result<PathBuf, Error> {
    for dir in dirs {
        for name in ["clang-14", "clang"] {
            let p = dir.join(name);
            if p.is_file() && (name == "clang-14" || dir.ends_with("llvm-14/bin")) {
                return Ok(p);
            }
        }
    }
    Err(Error::new(CLANG_MISSING.to_string()))
}

/// Compile every C file of `srcs` (as [`compile`] does) and link the modules
/// with `llvm-link-14` into `<out_dir>/<name>.ll`: the C under test, the
/// project's environment and a test driver become one program.
pub fn compile_and_link(srcs: &[&Path], out_dir: &Path, name: &str, extra: &[&str]) -> Result<PathBuf, Error> {
    let mut lls = Vec::new();
    for s in srcs {
        lls.push(compile(s, out_dir, extra)?);
    }
    let clang = find_clang()?;
    let link = tool_next_to(&clang, "llvm-link");
    let out = out_dir.join(format!("{name}.ll"));
    let o =
        Command::new(&link).arg("-S").arg("-o").arg(&out).args(&lls).output().map_err(|e| {
            Error::new(format!("cannot run {}: {e} (it comes with clang-14's llvm-14)", link.display()))
        })?;
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        return Err(Error::new(format!("linking {name} failed: {}", err.lines().next().unwrap_or(""))));
    }
    Ok(out)
}

/// An LLVM 14 tool beside the `clang` found by [`find_clang`]: next to
/// `clang-14`, `llvm-link-14`; in an `llvm-14/bin`, plain `llvm-link`.
pub fn tool_next_to(clang: &Path, name: &str) -> PathBuf {
    if clang.ends_with("clang") {
        clang.with_file_name(name)
    } else {
        clang.with_file_name(format!("{name}-14"))
    }
}

/// The directory with `cfront.h`, the environment's declarations.
pub fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include")
}

/// Compile `src` to `<out_dir>/<stem>.ll` with `clang-14 -O2 -g -S -emit-llvm`
/// (plus `extra` arguments, e.g. `-D…`), with [`include_dir`] on the include path.
pub fn compile(src: &Path, out_dir: &Path, extra: &[&str]) -> Result<PathBuf, Error> {
    let clang = find_clang()?;
    if !src.is_file() {
        return Err(Error::new(format!("{}: no such C file", src.display())));
    }
    std::fs::create_dir_all(out_dir).map_err(|e| Error::new(format!("cannot create {}: {e}", out_dir.display())))?;
    let stem = src.file_stem().unwrap_or_default().to_string_lossy().to_string();
    let out = out_dir.join(format!("{stem}.ll"));
    let o = Command::new(&clang)
        .args(["-O2", "-g", "-S", "-emit-llvm", "-std=gnu11", "-fno-discard-value-names"])
        .arg("-I")
        .arg(include_dir())
        .args(extra)
        .arg("-o")
        .arg(&out)
        .arg(src)
        .output()
        .map_err(|e| Error::new(format!("cannot run {}: {e}", clang.display())))?;
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        let first = err.lines().find(|l| l.contains("error")).unwrap_or_else(|| err.lines().next().unwrap_or(""));
        return Err(Error::new(format!("{} does not compile: {first}", src.display())));
    }
    Ok(out)
}
