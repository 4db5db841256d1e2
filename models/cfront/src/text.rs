//! Memory orderings read from the textual `.ll`, not from the LLVM C API.
//!
//! LLVM 14's `LLVMGetOrdering` does not answer for `fence`: through the
//! `llvm-ir` crate a `fence seq_cst` comes back as `NotAtomic`
//! (shared/reviews/c-frontend-notes.md), and llvm-ir's own docs say some
//! `atomicrmw` do too.  So every ordering the interpreter uses comes from the
//! text that clang printed: the n-th instruction line of a function's body is
//! the n-th instruction (in block order) that llvm-ir hands us, and the loader
//! checks that both agree on the opcode of every instruction before it trusts
//! the pairing.  Where the C API *does* give an ordering, the loader also checks
//! that it agrees with the text.

use std::collections::BTreeMap;

/// An ordering as printed in LLVM IR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextOrdering {
    /// `unordered`
    Unordered,
    /// `monotonic` (C11 relaxed)
    Monotonic,
    /// `acquire`
    Acquire,
    /// `release`
    Release,
    /// `acq_rel`
    AcqRel,
    /// `seq_cst`
    SeqCst,
}

impl TextOrdering {
    /// The IR keyword (`seq_cst`, `release`, …).
    pub fn name(self) -> &'static str {
        match self {
            TextOrdering::Unordered => "unordered",
            TextOrdering::Monotonic => "monotonic",
            TextOrdering::Acquire => "acquire",
            TextOrdering::Release => "release",
            TextOrdering::AcqRel => "acq_rel",
            TextOrdering::SeqCst => "seq_cst",
        }
    }
}

impl TextOrdering {
    fn parse(tok: &str) -> Option<Self> {
        Some(match tok {
            "unordered" => TextOrdering::Unordered,
            "monotonic" => TextOrdering::Monotonic,
            "acquire" => TextOrdering::Acquire,
            "release" => TextOrdering::Release,
            "acq_rel" => TextOrdering::AcqRel,
            "seq_cst" => TextOrdering::SeqCst,
            _ => return None,
        })
    }
}

/// One instruction line of a function body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextInst {
    /// The opcode (`load`, `store`, `fence`, `atomicrmw`, `cmpxchg`, `call`, …).
    pub opcode: String,
    /// The orderings printed on the line, in order (cmpxchg: success, failure).
    pub orderings: Vec<TextOrdering>,
    /// `syncscope("singlethread")` (a signal fence / compiler-only atomic).
    pub single_thread: bool,
    /// `load atomic` / `store atomic` (or any fence/RMW/cmpxchg).
    pub atomic: bool,
    /// 1-based line in the `.ll` file (for error messages).
    pub ll_line: usize,
    /// A call of inline assembly: its template and constraint strings.
    pub asm: Option<(String, String)>,
}

/// Instruction lines of every defined function, by function name.
pub fn parse(text: &str) -> Result<BTreeMap<String, Vec<TextInst>>, String> {
    let mut out = BTreeMap::new();
    let mut cur: Option<(String, Vec<TextInst>)> = None;
    let mut in_bracket = false;
    for (i, raw) in text.lines().enumerate() {
        let line = strip_comment(raw).trim();
        if let Some((name, insts)) = cur.as_mut() {
            if in_bracket {
                if line.starts_with(']') {
                    in_bracket = false;
                }
                continue;
            }
            if line == "}" {
                out.insert(std::mem::take(name), std::mem::take(insts));
                cur = None;
                continue;
            }
            if line.is_empty() || is_label(line) {
                continue;
            }
            if line.ends_with('[') {
                // `switch … [` / `indirectbr … [`: cases follow up to `]`.
                in_bracket = true;
            }
            insts.push(parse_inst(line, i + 1));
        } else if let Some(rest) = line.strip_prefix("define ") {
            let name = function_name(rest).ok_or_else(|| format!("line {}: cannot read the function name", i + 1))?;
            cur = Some((name, Vec::new()));
        }
    }
    if let Some((name, _)) = cur {
        return Err(format!("function `{name}` has no closing brace"));
    }
    Ok(out)
}

fn strip_comment(line: &str) -> &str {
    // A `;` inside a quoted string (c"…;…") is not a comment.
    let mut in_str = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_str = !in_str,
            ';' if !in_str => return &line[..i],
            _ => {}
        }
    }
    line
}

fn is_label(line: &str) -> bool {
    line.ends_with(':') && !line.contains(' ')
}

fn function_name(rest: &str) -> Option<String> {
    let at = rest.find('@')?;
    let s = &rest[at + 1..];
    if let Some(q) = s.strip_prefix('"') {
        return Some(q[..q.find('"')?].to_string());
    }
    let end = s.find('(')?;
    Some(s[..end].to_string())
}

fn parse_inst(line: &str, ll_line: usize) -> TextInst {
    // Drop the `%x = ` result.
    let body = match line.find(" = ") {
        Some(p) if line.starts_with('%') => &line[p + 3..],
        _ => line,
    };
    let mut toks = body.split(|c: char| c.is_whitespace() || c == ',').filter(|t| !t.is_empty()).peekable();
    let mut opcode = toks.next().unwrap_or("").to_string();
    if matches!(opcode.as_str(), "tail" | "musttail" | "notail") {
        opcode = toks.next().unwrap_or("").to_string();
    }
    let toks: Vec<&str> = toks.collect();
    let atomic = matches!(opcode.as_str(), "fence" | "atomicrmw" | "cmpxchg")
        || (matches!(opcode.as_str(), "load" | "store") && toks.first() == Some(&"atomic"));
    let (orderings, single_thread) = if atomic {
        (
            toks.iter().filter_map(|t| TextOrdering::parse(t)).collect(),
            toks.iter().any(|t| t.starts_with("syncscope(\"singlethread\")")),
        )
    } else {
        (Vec::new(), false)
    };
    let asm = if opcode == "call" {
        body.find(" asm ").and_then(|p| {
            let (template, rest) = quoted(&body[p..])?;
            let (constraints, _) = quoted(rest)?;
            Some((template.to_string(), constraints.to_string()))
        })
    } else {
        None
    };
    TextInst { opcode, orderings, single_thread, atomic, ll_line, asm }
}

/// The first `"…"` of `s` and what follows it.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let q = s.find('"')?;
    let e = s[q + 1..].find('"')?;
    Some((&s[q + 1..q + 1 + e], &s[q + 2 + e..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_fence_ordering_and_scope() {
        let ll = "define dso_local void @f() #0 !dbg !7 {\nentry:\n  fence acquire, !dbg !9\n  fence release\n  \
                  fence acq_rel\n  fence seq_cst ; comment\n  fence syncscope(\"singlethread\") seq_cst\n  \
                  %0 = cmpxchg i32* @x, i32 0, i32 1 acq_rel monotonic, align 4\n  \
                  %1 = load atomic i32, i32* @x acquire, align 4\n  %2 = load i32, i32* @release, align 4\n  \
                  switch i32 %1, label %a [\n    i32 0, label %b\n  ]\n\na:\n  ret void\n\nb:\n  ret void\n}\n";
        let f = &parse(ll).unwrap()["f"];
        let o: Vec<_> = f.iter().map(|i| (i.opcode.as_str(), i.orderings.clone(), i.single_thread)).collect();
        use TextOrdering::*;
        assert_eq!(
            o,
            vec![
                ("fence", vec![Acquire], false),
                ("fence", vec![Release], false),
                ("fence", vec![AcqRel], false),
                ("fence", vec![SeqCst], false),
                ("fence", vec![SeqCst], true),
                ("cmpxchg", vec![AcqRel, Monotonic], false),
                ("load", vec![Acquire], false),
                ("load", vec![], false),
                ("switch", vec![], false),
                ("ret", vec![], false),
                ("ret", vec![], false),
            ]
        );
    }
}
