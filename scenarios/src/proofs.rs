//! proofs.md ↔ code consistency.
//!
//! proofs.md is the argument; the code is what the checkers run.  [`check`]
//! keeps them in step: every barrier site in the code has a row in the
//! pairing table (and no row names a site that does not exist), every site's
//! comment follows the grammar and pairs with sites that exist, every
//! scenario or mutant the document cites exists, every survivor
//! justification names a real site and mutation, and every expected
//! `violated` cell of the matrix has its finding.  The test suite runs it on
//! the real document; `rcu-check` has no subcommand for it.

use std::collections::{BTreeMap, BTreeSet};

use models::Version;
use rcu_core::site::{Mutation, Site};

use crate::catalog::{Expect, Scenario, Scope};
use crate::mutants;

/// The document, compiled in.
pub const PROOFS_MD: &str = mutants::PROOFS_MD;

/// One row of the pairing table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairingRow {
    /// Site ID.
    pub site: String,
    /// What it orders.
    pub orders: String,
    /// The sites it pairs with (free text with `B<n>` references).
    pub pairs_with: String,
    /// Litmus shape (SB, MP, LB, …) or `—`.
    pub shape: String,
    /// Scenarios that check it (backticked names).
    pub scenario: String,
    /// Mutants that break it (`B<n>:<mutation>`), or why none does.
    pub mutant: String,
}

/// The rows of the table under `## Pairing table`.
pub fn pairing_rows(md: &str) -> Vec<PairingRow> {
    section_rows(md, "Pairing table")
        .into_iter()
        .filter(|c| c.len() >= 6)
        .map(|c| PairingRow {
            site: c[0].clone(),
            orders: c[1].clone(),
            pairs_with: c[2].clone(),
            shape: c[3].clone(),
            scenario: c[4].clone(),
            mutant: c[5..].join(" | "),
        })
        .collect()
}

/// Table rows starting with a site ID (`| B<n>` or `| L<n>`) under the
/// `## <heading>` section, split into trimmed columns (also the survivor
/// table that [`mutants`] reads).
pub fn section_rows(md: &str, heading: &str) -> Vec<Vec<String>> {
    let mut out = vec![];
    let mut inside = false;
    for line in md.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            inside = h.trim().starts_with(heading);
            continue;
        }
        let b = line.as_bytes();
        let id_row =
            b.len() > 3 && b[0] == b'|' && b[1] == b' ' && matches!(b[2], b'B' | b'L') && b[3].is_ascii_digit();
        if inside && id_row {
            out.push(line.trim().trim_matches('|').split('|').map(|s| s.trim().to_string()).collect());
        }
    }
    out
}

/// `B<n>` tokens in a text.
pub fn site_refs(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = vec![];
    for i in 0..b.len() {
        let starts = b[i] == b'B' && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        if !starts {
            continue;
        }
        let digits: String = text[i + 1..].chars().take_while(|c| c.is_ascii_digit()).collect();
        let end = i + 1 + digits.len();
        if !digits.is_empty() && (end == b.len() || !b[end].is_ascii_alphanumeric()) {
            out.push(format!("B{digits}"));
        }
    }
    out
}

/// Backticked words in a text.
fn backticked(text: &str) -> Vec<String> {
    text.split('`').skip(1).step_by(2).map(|s| s.to_string()).collect()
}

/// One row of the `## Logic mutants` table: a logic mutant of one version
/// and what the last run did to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogicRow {
    /// Site ID (`L<n>`).
    pub site: String,
    /// Version name.
    pub version: String,
    /// Operator (`drop-call`, …).
    pub mutation: String,
    /// `killed`, `justified`, `inconclusive` or `survived`.
    pub status: String,
    /// The killer and its failure, or the survivor's class.
    pub detail: String,
}

/// The rows of the table under `## Logic mutants`.
pub fn logic_rows(md: &str) -> Vec<LogicRow> {
    section_rows(md, "Logic mutants")
        .into_iter()
        .filter(|c| c.len() >= 5 && c[0].starts_with('L'))
        .map(|c| LogicRow {
            site: c[0].clone(),
            version: c[1].clone(),
            mutation: c[2].clone(),
            status: c[3].clone(),
            detail: c[4..].join(" | "),
        })
        .collect()
}

/// The logic-site table (`## Logic sites`): one row per `L<n>` ID.
pub fn logic_site_rows(md: &str) -> Vec<Vec<String>> {
    section_rows(md, "Logic sites").into_iter().filter(|c| c.len() >= 4 && c[0].starts_with('L')).collect()
}

/// Every inconsistency between the document and the code, one line each.
pub fn check(md: &str, sites: &[&Site], scenarios: &[&Scenario]) -> Vec<String> {
    let mut errs = vec![];
    let all_ids: BTreeSet<&str> = sites.iter().map(|s| s.id).collect();
    // The pairing table documents the barrier sites; logic sites have their own table.
    let ids: BTreeSet<&str> = sites.iter().filter(|s| !s.kind.is_logic()).map(|s| s.id).collect();
    let names: BTreeSet<&str> = scenarios.iter().map(|s| s.name).collect();

    // Grammar of every site's comment, and its pairings.
    for s in sites {
        if let Err(e) = s.check_grammar() {
            errs.push(format!("{}:{}: {e}", s.file, s.line));
        }
        for (p, f) in s.pairs_with() {
            if !ids.contains(p.as_str()) {
                errs.push(format!("{}:{}: {} pairs with {p} in {f}(), which is not a site", s.file, s.line, s.id));
            }
        }
    }

    // The pairing table: exactly one row per site.
    let rows = pairing_rows(md);
    if rows.is_empty() {
        errs.push("proofs.md: no `## Pairing table` rows".into());
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rows {
        *seen.entry(r.site.as_str()).or_default() += 1;
        if !ids.contains(r.site.as_str()) {
            errs.push(format!("proofs.md pairing table: row {} names no site in the code", r.site));
        }
        for p in site_refs(&r.pairs_with) {
            if !ids.contains(p.as_str()) {
                errs.push(format!("proofs.md pairing table: {} pairs with {p}, which is not a site", r.site));
            }
        }
        for n in backticked(&r.scenario) {
            if !names.contains(n.as_str()) {
                errs.push(format!("proofs.md pairing table: {} cites scenario `{n}`, which does not exist", r.site));
            }
        }
        for m in backticked(&r.mutant) {
            let Some((site, mutation)) = m.split_once(':') else {
                errs.push(format!("proofs.md pairing table: {}: mutant `{m}` is not `B<n>:<mutation>`", r.site));
                continue;
            };
            if !ids.contains(site) {
                errs.push(format!("proofs.md pairing table: {}: mutant `{m}` names no site", r.site));
            }
            if let Err(e) = Mutation::parse(mutation) {
                errs.push(format!("proofs.md pairing table: {}: mutant `{m}`: {e}", r.site));
            }
        }
        if r.orders.is_empty() || r.shape.is_empty() || r.scenario.is_empty() || r.mutant.is_empty() {
            errs.push(format!("proofs.md pairing table: row {} has an empty column", r.site));
        }
    }
    for id in &ids {
        match seen.get(id) {
            None => errs.push(format!("proofs.md pairing table: site {id} is in the code but not documented")),
            Some(n) if *n > 1 => errs.push(format!("proofs.md pairing table: site {id} has {n} rows")),
            _ => {}
        }
    }

    // The logic-site table: exactly one row per logic site.
    let logic_ids: BTreeSet<&str> = sites.iter().filter(|s| s.kind.is_logic()).map(|s| s.id).collect();
    let lrows = logic_site_rows(md);
    let mut lseen: BTreeMap<String, usize> = BTreeMap::new();
    for r in &lrows {
        *lseen.entry(r[0].clone()).or_default() += 1;
        if !logic_ids.contains(r[0].as_str()) {
            errs.push(format!("proofs.md logic sites: row {} names no logic site in the code", r[0]));
        }
        if r.iter().any(|c| c.is_empty()) {
            errs.push(format!("proofs.md logic sites: row {} has an empty column", r[0]));
        }
    }
    for id in &logic_ids {
        match lseen.get(*id) {
            None => errs.push(format!("proofs.md logic sites: site {id} is in the code but not documented")),
            Some(n) if *n > 1 => errs.push(format!("proofs.md logic sites: site {id} has {n} rows")),
            _ => {}
        }
    }

    // The logic-mutant table: one row per logic mutant of every version; a
    // survivor there is matched by a classed survivor row.
    let js = mutants::justifications(md);
    let rows = logic_rows(md);
    let logic_sites: Vec<&Site> = sites.iter().copied().filter(|s| s.kind.is_logic()).collect();
    if !logic_sites.is_empty() {
        for v in Version::ALL {
            for (s, m) in mutants::mutants_of(v).into_iter().filter(|(s, _)| s.kind.is_logic()) {
                if !logic_sites.iter().any(|x| std::ptr::eq(*x, s)) {
                    continue;
                }
                let n = rows
                    .iter()
                    .filter(|r| r.site == s.id && r.version == v.name() && r.mutation == m.to_string())
                    .count();
                if n != 1 {
                    errs.push(format!(
                        "proofs.md logic mutants: {} {}:{m} has {n} rows (expected one per version and operator)",
                        v.name(),
                        s.id
                    ));
                }
            }
        }
    }
    for r in &rows {
        let Ok(v) = r.version.parse::<Version>() else {
            errs.push(format!("proofs.md logic mutants: {}: unknown version `{}`", r.site, r.version));
            continue;
        };
        let Ok(m) = Mutation::parse(&r.mutation) else {
            errs.push(format!("proofs.md logic mutants: {} {}: unknown mutation `{}`", r.site, r.version, r.mutation));
            continue;
        };
        if !mutants::mutants_of(v).iter().any(|(s, x)| s.id == r.site && *x == m) {
            errs.push(format!(
                "proofs.md logic mutants: {} {}:{} is not a mutant of that version",
                r.version, r.site, m
            ));
        }
        match r.status.trim_matches('*') {
            "killed" => {
                if !backticked(&r.detail).iter().any(|n| names.contains(n.as_str())) {
                    errs.push(format!(
                        "proofs.md logic mutants: {} {}:{m} is killed but names no scenario",
                        r.version, r.site
                    ));
                }
            }
            "justified" | "survived" | "inconclusive" => match mutants::justification_for(&js, v, &r.site, m) {
                None => errs.push(format!(
                    "proofs.md logic mutants: {} {}:{m} survives but no survivor row argues it",
                    r.version, r.site
                )),
                Some(j) if r.status.trim_matches('*') == "justified" && !r.detail.contains(j.class.as_str()) => errs
                    .push(format!(
                        "proofs.md logic mutants: {} {}:{m}: the survivor row classes it {}",
                        r.version, r.site, j.class
                    )),
                _ => {}
            },
            s => errs.push(format!("proofs.md logic mutants: {} {}:{m}: unknown status `{s}`", r.version, r.site)),
        }
    }

    // Survivor justifications name real sites and mutations.
    for j in js {
        if !all_ids.contains(j.site.as_str()) {
            errs.push(format!("proofs.md survivors: {} names no site", j.site));
        }
        if j.mutation != "*" {
            if let Err(e) = Mutation::parse(&j.mutation) {
                errs.push(format!("proofs.md survivors: {}: {e}", j.site));
            }
        }
        for v in &j.versions {
            if v != "all" && v.parse::<Version>().is_err() {
                errs.push(format!("proofs.md survivors: {}: unknown version `{v}`", j.site));
            }
        }
        if j.why.trim().len() < 20 {
            errs.push(format!("proofs.md survivors: {} {}: the justification is missing", j.site, j.mutation));
        }
        if let Err(e) = mutants::check_class_of(&j.site, &j.class, &j.why) {
            errs.push(format!("proofs.md survivors: {} {} ({}): {e}", j.site, j.mutation, j.versions.join(",")));
        }
    }

    // Every expected violation has its finding: "`<scenario>` × `<version>`".
    for s in scenarios.iter().filter(|s| s.scope == Scope::Versions) {
        for v in Version::ALL {
            if let Expect::Violated { .. } = (s.expect)(v) {
                let key = format!("`{}` × `{}`", s.name, v.name());
                if !md.contains(&key) {
                    errs.push(format!("proofs.md findings: no entry {key} for an expected violation"));
                }
            }
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_refs_finds_ids_only() {
        assert_eq!(site_refs("B12 and B6, not AB3 or B4x; (B40)"), vec!["B12", "B6", "B40"]);
    }
}
