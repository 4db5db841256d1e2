//! proofs.md must describe the code that runs: every barrier site documented
//! in the pairing table, every comment in the grammar, every cited scenario,
//! mutant and survivor real, every expected violation with its finding.

use rcu_core::site::{Site, SiteKind, SITES};
use scenarios::catalog;
use scenarios::proofs::{check, pairing_rows, PROOFS_MD};

fn all_sites() -> Vec<&'static Site> {
    SITES.iter().collect()
}

fn all_scenarios() -> Vec<&'static catalog::Scenario> {
    catalog::all().into_iter().chain(scenarios::litmus::ALL.iter()).collect()
}

#[test]
fn proofs_md_matches_the_code() {
    let errs = check(PROOFS_MD, &all_sites(), &all_scenarios());
    assert!(errs.is_empty(), "proofs.md is out of date ({} problems):\n{}", errs.len(), errs.join("\n"));
    assert!(pairing_rows(PROOFS_MD).len() >= 60);
}

/// The check is able to fail: a site added to the code without a row in the
/// pairing table is reported, and so is a row for a site that is gone.
#[test]
fn an_undocumented_site_fails_the_check() {
    static NEW: Site = Site {
        id: "B999",
        kind: SiteKind::Fence(rcu_core::site::Ord::SeqCst),
        func: "wait_for_readers",
        c_ref: "util/rcu.c:1 smp_mb() (synthetic)",
        doc: "Stores to x before loads of y. Pairs with B6 in rcu_read_unlock() [B999]",
        module: "models::synthetic",
        file: "models/src/synthetic.rs",
        line: 1,
    };
    let mut sites = all_sites();
    sites.push(&NEW);
    let errs = check(PROOFS_MD, &sites, &all_scenarios());
    assert!(
        errs.iter().any(|e| e.contains("B999") && e.contains("not documented")),
        "an undocumented site passed the check: {errs:?}"
    );

    // A row for a site that no longer exists.
    let sites: Vec<&Site> = all_sites().into_iter().filter(|s| s.id != "B12").collect();
    let errs = check(PROOFS_MD, &sites, &all_scenarios());
    assert!(errs.iter().any(|e| e.contains("row B12 names no site")), "{errs:?}");
}

#[test]
fn a_comment_outside_the_grammar_fails_the_check() {
    static BAD: Site = Site {
        id: "B998",
        kind: SiteKind::Fence(rcu_core::site::Ord::SeqCst),
        func: "rcu_read_unlock",
        c_ref: "synthetic",
        doc: "a full barrier here [B998]",
        module: "models::synthetic",
        file: "models/src/synthetic.rs",
        line: 2,
    };
    let mut sites = all_sites();
    sites.push(&BAD);
    let errs = check(PROOFS_MD, &sites, &all_scenarios());
    assert!(errs.iter().any(|e| e.contains("B998") && e.contains("before")), "{errs:?}");
}

#[test]
fn a_missing_finding_fails_the_check() {
    let md = PROOFS_MD.replace("`call_rcu_enqueue_race` × `seed`", "(removed)");
    let errs = check(&md, &all_sites(), &all_scenarios());
    assert!(errs.iter().any(|e| e.contains("call_rcu_enqueue_race") && e.contains("seed")), "{errs:?}");
}

/// Every survivor row is classed, and each class carries what it must: a
/// redundant row its shape, a checker-blind row its limit, an open gap the
/// scenario that would judge it.
#[test]
fn an_unclassed_or_unargued_survivor_fails_the_check() {
    use scenarios::mutants::check_class;
    assert!(check_class("redundant", "B44 follows. Shape: SB.").is_ok());
    assert!(check_class("redundant", "B44 follows.").is_err());
    assert!(check_class("redundant", "Shape: XYZ").is_err());
    assert!(check_class("checker-blind", "load buffering").is_err());
    assert!(check_class("checker-blind", "Limit: loom never explores load buffering").is_ok());
    assert!(check_class("open-gap", "nothing judges it").is_err());
    assert!(check_class("open-gap", "Judge: `gp_two_forced_gps`").is_ok());
    assert!(check_class("justified", "Shape: SB").is_err());
    // A logic site's redundant row rests on a logic shape, a barrier site's on a litmus shape.
    use scenarios::mutants::check_class_of;
    assert!(check_class_of("L6", "redundant", "The reader clears it. Shape: cost-only").is_ok());
    assert!(check_class_of("L15", "redundant", "The dequeue loop waits. Shape: duplicate").is_ok());
    assert!(check_class_of("L6", "redundant", "Shape: SB").is_err());
    assert!(check_class_of("B6", "redundant", "Shape: cost-only").is_err());
    // On the real document: a row whose class is removed is reported.
    let row = PROOFS_MD.lines().find(|l| l.starts_with("| B") && l.contains("| redundant |")).expect("a redundant row");
    let md = PROOFS_MD.replace(row, &row.replacen("| redundant |", "| maybe |", 1));
    let errs = check(&md, &all_sites(), &all_scenarios());
    assert!(errs.iter().any(|e| e.contains("unknown class `maybe`")), "{errs:?}");
}

/// Issue 14: every logic mutant of every version has one row in proofs.md's
/// logic-mutant table, and a survivor there is argued by a classed survivor
/// row; removing either is reported.
#[test]
fn a_logic_mutant_without_its_row_or_its_argument_fails_the_check() {
    use scenarios::proofs::logic_rows;
    let rows = logic_rows(PROOFS_MD);
    assert!(rows.len() >= 100, "{} logic-mutant rows", rows.len());
    // A killed row removed.
    let killed = PROOFS_MD.lines().find(|l| l.starts_with("| L1 | master | drop-call | killed |")).expect("L1 row");
    let md = PROOFS_MD.replace(&format!("{killed}\n"), "");
    let errs = check(&md, &all_sites(), &all_scenarios());
    assert!(errs.iter().any(|e| e.contains("master L1:drop-call has 0 rows")), "{errs:?}");
    // A survivor whose argument is removed from the survivor table.
    let survivor = rows.iter().find(|r| r.status == "justified").expect("a justified logic mutant");
    // Its survivor-table rows: `| L<n> | versions | mutation | <class> | why |`.
    let is_survivor_row = |l: &str| {
        let cols: Vec<&str> = l.trim().trim_matches('|').split('|').map(str::trim).collect();
        cols.len() >= 5 && cols[0] == survivor.site && scenarios::mutants::CLASSES.contains(&cols[3])
    };
    let md: String = PROOFS_MD.lines().filter(|l| !is_survivor_row(l)).map(|l| format!("{l}\n")).collect();
    let errs = check(&md, &all_sites(), &all_scenarios());
    assert!(errs.iter().any(|e| e.contains(&survivor.site) && e.contains("no survivor row argues it")), "{errs:?}");
    // A logic site without its row in the logic-site table.
    let md = PROOFS_MD.replace("| L40 |", "| L400 |");
    let errs = check(&md, &all_sites(), &all_scenarios());
    assert!(errs.iter().any(|e| e.contains("site L40 is in the code but not documented")), "{errs:?}");
}
