//! Counterexamples as the table a reviewer would draw in a mail: one column per
//! thread, one row per step, in QEMU's terms.

use crate::capture::TraceLine;

/// Render `lines` with one column per thread that appears in them, each at
/// most `col` characters wide (long steps wrap inside their column).
pub fn thread_table(lines: &[TraceLine], threads: &[String], col: usize) -> String {
    let mut tids: Vec<usize> = lines.iter().map(|l| l.tid).collect();
    tids.sort_unstable();
    tids.dedup();
    if tids.is_empty() {
        return "(no trace captured)\n".into();
    }
    let name = |tid: usize| -> String {
        threads
            .get(tid)
            .filter(|n| !n.is_empty())
            .cloned()
            .or_else(|| lines.iter().find(|l| l.tid == tid).map(|l| l.thread.clone()))
            .unwrap_or_else(|| format!("t{tid}"))
    };
    let width = |tid: usize| -> usize {
        let longest = lines.iter().filter(|l| l.tid == tid).map(|l| l.text.chars().count()).max().unwrap_or(0);
        longest.max(name(tid).chars().count()).clamp(8, col)
    };
    let widths: Vec<usize> = tids.iter().map(|&t| width(t)).collect();
    let step_w = lines.len().to_string().len().max(4);

    let mut out = String::new();
    // header
    out.push_str(&format!("{:>step_w$} ", "step"));
    for (i, &t) in tids.iter().enumerate() {
        out.push_str(&format!("| {:<w$} ", name(t), w = widths[i]));
    }
    out.push('\n');
    out.push_str(&"-".repeat(step_w + 1));
    for w in &widths {
        out.push_str(&format!("+{}", "-".repeat(w + 2)));
    }
    out.push('\n');
    for (n, l) in lines.iter().enumerate() {
        let c = tids.iter().position(|&t| t == l.tid).unwrap();
        let chunks = wrap(&l.text, widths[c]);
        for (k, chunk) in chunks.iter().enumerate() {
            if k == 0 {
                out.push_str(&format!("{:>step_w$} ", n + 1));
            } else {
                out.push_str(&format!("{:>step_w$} ", ""));
            }
            for (i, w) in widths.iter().enumerate() {
                if i == c {
                    out.push_str(&format!("| {:<w$} ", chunk, w = *w));
                } else {
                    out.push_str(&format!("| {:<w$} ", "", w = *w));
                }
            }
            out.push('\n');
        }
    }
    // Trailing spaces make diffs noisy.
    out.lines().map(|l| l.trim_end()).collect::<Vec<_>>().join("\n") + "\n"
}

/// Split `s` into pieces of at most `w` characters, at spaces where possible.
fn wrap(s: &str, w: usize) -> Vec<String> {
    let mut out = vec![];
    let mut cur = String::new();
    for word in s.split(' ') {
        let wl = word.chars().count();
        let cl = cur.chars().count();
        if cl > 0 && cl + 1 + wl > w {
            out.push(std::mem::take(&mut cur));
        }
        if wl > w {
            let chars: Vec<char> = word.chars().collect();
            for piece in chars.chunks(w) {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                cur = piece.iter().collect();
            }
            continue;
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(tid: usize, t: &str) -> TraceLine {
        TraceLine { tid, thread: format!("t{tid}"), text: t.into() }
    }

    #[test]
    fn one_column_per_thread() {
        let t = thread_table(
            &[line(0, "call_rcu1(O)"), line(1, "try_dequeue → NULL")],
            &["main".into(), "call_rcu".into()],
            30,
        );
        let rows: Vec<&str> = t.lines().collect();
        assert!(rows[0].contains("main") && rows[0].contains("call_rcu"));
        assert!(rows[2].contains("call_rcu1(O)"));
        // the second step is in the second column
        let first_bar = rows[3].find('|').unwrap();
        let second_bar = rows[3][first_bar + 1..].find('|').unwrap() + first_bar + 1;
        assert!(rows[3][second_bar..].contains("try_dequeue"));
    }

    #[test]
    fn long_steps_wrap_in_their_column() {
        let t = thread_table(&[line(0, "aaaa bbbb cccc dddd")], &["main".into()], 9);
        assert_eq!(t.lines().filter(|l| l.contains('|')).count(), 3);
    }
}
