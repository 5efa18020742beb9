//! Report views over hand-made records: no Docker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;

pub(crate) fn record(
    scenario: &str,
    version: &str,
    outcome: Outcome,
    verdict: Verdict,
) -> CaseRecord {
    let case = format!("{scenario}@{version}");
    CaseRecord {
        variant: None,
        repeat: None,
        scenario: scenario.into(),
        case: case.clone(),
        run_id: "20260101-000000-abcd".into(),
        image: format!("haprepro/haproxy:{version}"),
        image_source: "catalog".into(),
        version: format!("{version}-1+deb13u3"),
        started_at: "2026-01-01T00:00:00Z".into(),
        started_unix_ms: 1_767_225_600_000,
        harness_error: None,
        haproxy_exit: Vec::new(),
        provenance: Default::default(),
        wall_ms: 1200,
        setup_ms: 700,
        steps: vec![
            StepRecord {
                index: 0,
                action: "setup".into(),
                at_ms: 0,
                elapsed_ms: 700,
                ok: true,
                detail: "HAProxy ready".into(),
            },
            StepRecord {
                index: 1,
                action: "wait be/app1 UP <within 5s>".into(),
                at_ms: 700,
                elapsed_ms: 20,
                ok: outcome != Outcome::Error,
                detail: "be/app1 op=Running & <ok>".into(),
            },
        ],
        measures: BTreeMap::from([("syn_to_port_zero".to_string(), 0.0)]),
        outcome,
        reason: "syn_to_port_zero (=0) >= 1 does not hold".into(),
        expected: Some(Outcome::NotReproduced),
        expected_range: Some("*".into()),
        verdict,
        evidence_dir: PathBuf::from("results/20260101-000000-abcd")
            .join(crate::runtime::sanitize(&case)),
        evidence: vec!["haproxy.log".into(), "syn.pcap".into()],
    }
}

fn sample() -> Vec<CaseRecord> {
    use Outcome::*;
    vec![
        record("smoke", "3.0.11", NotReproduced, Verdict::Pass),
        record("smoke", "2.6.12", NotReproduced, Verdict::Pass),
        record("flap", "3.0.11", Reproduced, Verdict::Fail),
        record("flap", "2.6.12", Error, Verdict::Error),
    ]
}

#[test]
fn cells_group_repeats_and_sort_versions_by_haproxy_order() {
    let mut records = sample();
    records.push(record(
        "smoke",
        "3.0.11",
        Outcome::Reproduced,
        Verdict::Fail,
    ));
    records.push(record(
        "smoke",
        "3.10.1",
        Outcome::NotReproduced,
        Verdict::Pass,
    ));
    assert_eq!(versions(&records), ["2.6.12", "3.0.11", "3.10.1"]);
    let cells = cells(&records);
    let names: Vec<String> = cells.iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "flap@2.6.12",
            "flap@3.0.11",
            "smoke@2.6.12",
            "smoke@3.0.11",
            "smoke@3.10.1"
        ]
    );
    let repeated = &cells[3];
    assert_eq!(repeated.runs.len(), 2);
    assert_eq!(repeated.verdict(), Verdict::Fail);
    assert_eq!(repeated.measured(), "R 1/2");
    assert_eq!(repeated.representative().unwrap().verdict, Verdict::Fail);
    assert_eq!(cells[2].measured(), "not-reproduced");
}

#[test]
fn a_racy_case_shows_how_often_the_symptom_appeared() {
    let mut racy = record("race", "3.0.11", Outcome::Reproduced, Verdict::Pass);
    racy.repeat = Some(RepeatSummary {
        runs: 8,
        ran: 8,
        reproduced: 3,
        errors: 0,
        each: Vec::new(),
    });
    let mut broken = record("broken", "3.0.11", Outcome::Error, Verdict::Error);
    broken.repeat = Some(RepeatSummary {
        runs: 8,
        ran: 7,
        reproduced: 3,
        errors: 1,
        each: Vec::new(),
    });
    let records = [racy, broken];
    let cells = cells(&records);
    assert_eq!(cells[1].measured(), "reproduced, 3 of 8 runs");
    assert_eq!(cells[0].measured(), "error: 7 of 8 runs ran, symptom in 3");
}

#[test]
fn markdown_shows_repeat_counts_and_lists_what_did_not_pass() {
    let mut records = Vec::new();
    for i in 0..20 {
        let (o, v) = if i < 3 {
            (Outcome::Reproduced, Verdict::Fail)
        } else {
            (Outcome::NotReproduced, Verdict::Pass)
        };
        records.push(record("flap", "3.0.11", o, v));
    }
    records.push(record("flap", "2.6.12", Outcome::Error, Verdict::Error));
    let md = matrix::markdown(&records);
    assert!(
        md.starts_with("| scenario | 2.6.12 | 3.0.11 |\n|---|---|---|\n"),
        "{md}"
    );
    assert!(
        md.contains("| flap | 🟨 error ✗ | 🟥 reproduced 3/20 ✗ **FAIL** |"),
        "{md}"
    );
    assert!(md.contains(matrix::LEGEND), "{md}");
    assert!(
        md.contains(
            "- **3.0.11**: HAProxy `3.0.11-1+deb13u3`, catalog (`haprepro/haproxy:3.0.11`)"
        ),
        "{md}"
    );
    assert!(
        md.contains("- **flap@3.0.11**: fail (20 runs: R 3/20)"),
        "{md}"
    );
}

#[test]
fn junit_has_one_testcase_per_scenario_and_version_with_failure_and_error() {
    let xml = junit::xml(&sample()).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 4, "{xml}");
    assert!(
        xml.contains(r#"<testcase name="3.0.11" classname="flap""#),
        "{xml}"
    );
    // The failure says measured vs expected, why, and where the evidence is.
    let failure = xml.split("<failure ").nth(1).expect("a failure element");
    assert!(
        failure
            .contains("measured reproduced, expected not-reproduced (range *): syn_to_port_zero"),
        "{failure}"
    );
    assert!(
        failure.contains("evidence results/20260101-000000-abcd/flap-3.0.11"),
        "{failure}"
    );
    assert_eq!(xml.matches("<error ").count(), 1, "{xml}");
    assert!(
        xml.contains(r#"tests="4""#) && xml.contains(r#"failures="1""#),
        "{xml}"
    );
}

#[test]
fn html_is_self_contained_and_every_cell_opens_its_case() {
    let page = html::page(&sample(), Path::new("results/20260101-000000-abcd"));
    assert!(page.starts_with("<!DOCTYPE html>"));
    for external in ["<link", " src=", "http://", "https://", "@import"] {
        assert!(!page.contains(external), "external asset {external:?}");
    }
    for case in ["flap-2-6-12", "flap-3-0-11", "smoke-2-6-12", "smoke-3-0-11"] {
        assert!(page.contains(&format!("href=\"#case-{case}\"")), "{case}");
        assert!(page.contains(&format!("id=\"case-{case}\"")), "{case}");
    }
    // Coloured by what was measured, marked by the verdict.
    assert!(
        page.contains("class=\"cell o-reproduced v-fail\""),
        "{page}"
    );
    assert!(page.contains("class=\"cell o-error v-error\""));
    assert!(page.contains("class=\"cell o-not-reproduced v-pass\""));
    assert!(page.contains("<span class=\"mk mk-fail\">FAIL</span>"));
    assert!(page.contains("class=\"legend\""));
    // The header names the build behind each column.
    assert!(page.contains("<div class=\"b\">3.0.11-1+deb13u3</div><div class=\"b\">catalog</div>"));
    // Timeline text is escaped, evidence links are relative to the page.
    assert!(page.contains("wait be/app1 UP &lt;within 5s&gt;"));
    assert!(page.contains("be/app1 op=Running &amp; &lt;ok&gt;"));
    assert!(page.contains("href=\"flap-3.0.11/syn.pcap\""), "{page}");
    assert!(page.contains("href=\"flap-3.0.11/case.json\""));
}

#[test]
fn columns_follow_the_build_and_rows_the_variant() {
    let mut official = record("flap", "3.0.11", Outcome::Reproduced, Verdict::Pass);
    official.version = "3.0.11".into();
    official.image_source = "official image haproxy:3.0.11".into();
    let mut variant = record("flap", "2.6.12", Outcome::NotReproduced, Verdict::Pass);
    variant.variant = Some("sticky".into());
    let records = vec![
        record("flap", "3.0.11", Outcome::NotReproduced, Verdict::Pass),
        official,
        variant,
    ];
    let columns = columns(&records);
    let titles: Vec<(&str, &str)> = columns
        .iter()
        .map(|c| (c.version.as_str(), c.full.as_str()))
        .collect();
    assert_eq!(
        titles,
        [
            ("2.6.12", "2.6.12-1+deb13u3"),
            ("3.0.11", "3.0.11"),
            ("3.0.11", "3.0.11-1+deb13u3")
        ]
    );
    assert_eq!(rows(&records), ["flap", "flap/sticky"]);
    let cells = cells(&records);
    assert_eq!(cells.len(), 3);
    let official = cell_at(&cells, "flap", &columns[1]).unwrap();
    assert_eq!(official.outcome(), Outcome::Reproduced);
    let page = html::page(&records, Path::new("results/x"));
    assert!(
        page.contains("id=\"case-flap-3-0-11-1\""),
        "two columns of 3.0.11: distinct anchors"
    );
}

#[test]
fn a_cell_is_coloured_by_what_was_measured() {
    let mut runs = vec![
        record("race", "3.0.11", Outcome::NotReproduced, Verdict::Pass),
        record("race", "3.0.11", Outcome::Error, Verdict::Error),
    ];
    assert_eq!(cells(&runs)[0].outcome(), Outcome::NotReproduced);
    runs.push(record("race", "3.0.11", Outcome::Reproduced, Verdict::Fail));
    let cells = cells(&runs);
    assert_eq!(cells[0].outcome(), Outcome::Reproduced);
    assert_eq!(cells[0].rate(), Some((1, 3)));
    assert_eq!(matrix::cell_text(&cells[0]), "🟥 reproduced 1/3 ✗ **FAIL**");
    let one = [record("x", "2.2.9", Outcome::Error, Verdict::Error)];
    assert_eq!(super::cells(&one)[0].outcome(), Outcome::Error);
    assert_eq!(super::cells(&one)[0].rate(), None);
}

#[test]
fn relative_paths_between_folders() {
    assert_eq!(
        relative_to(Path::new("a/b/c/file"), Path::new("a/b")),
        PathBuf::from("c/file")
    );
    assert_eq!(
        relative_to(Path::new("shards/s1/run/case"), Path::new("merged")),
        PathBuf::from("../shards/s1/run/case")
    );
    assert_eq!(
        relative_to(Path::new("/x/y"), Path::new("/x/y")),
        PathBuf::new()
    );
}

#[test]
fn merge_reads_every_case_json_and_points_evidence_at_where_it_lies() {
    let root = std::env::temp_dir().join(format!("haprepro-merge-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let mut dirs = Vec::new();
    for (shard, r) in sample().into_iter().enumerate() {
        let shard_dir = root.join(format!("shard-{shard}"));
        let mut r = r;
        r.evidence_dir = shard_dir
            .join(&r.run_id)
            .join(crate::runtime::sanitize(&r.case));
        write_case(&r).unwrap();
        dirs.push(shard_dir);
    }
    // A matrix.json beside the cases is not read twice.
    std::fs::write(dirs[0].join("matrix.json"), "[]").unwrap();
    // Nor is a racy case's run (`case#k`), which its case's record sums up.
    let mut round = record("smoke", "3.0.11", Outcome::Reproduced, Verdict::Fail);
    round.case = "smoke@3.0.11#2".into();
    round.evidence_dir = dirs[0].join("run").join("smoke-3.0.11-2");
    write_case(&round).unwrap();
    let merged = merge::collect(&dirs).unwrap();
    assert_eq!(merged.len(), 4);
    assert!(merged
        .iter()
        .all(|r| r.evidence_dir.join("case.json").is_file()));
    let out = root.join("merged");
    let written = write_all(&out, &merged).unwrap();
    assert_eq!(written.len(), 4);
    let page = std::fs::read_to_string(out.join("matrix.html")).unwrap();
    assert!(
        page.contains("href=\"../shard-2/"),
        "links point at the shards"
    );

    // A truncated case.json (a job killed while writing, before writes were atomic) and a
    // shard given twice: both named, never fatal, never silently in the matrix.
    std::fs::write(dirs[1].join("broken-case.json"), "{").unwrap();
    let cut = dirs[1].join("cut");
    std::fs::create_dir_all(&cut).unwrap();
    std::fs::write(cut.join("case.json"), "{\"scenario\": \"flap\", \"ca").unwrap();
    let mut twice = dirs.clone();
    twice.push(dirs[0].clone());
    let m = merge::collect_all(&twice).unwrap();
    assert_eq!(m.records.len(), 4, "the duplicates are not repeats");
    assert_eq!(m.unreadable.len(), 1, "{:?}", m.unreadable);
    assert!(
        m.unreadable[0].contains("cut/case.json"),
        "{:?}",
        m.unreadable
    );
    assert_eq!(
        m.duplicates.len(),
        1,
        "shard-0 holds one case: {:?}",
        m.duplicates
    );
    assert!(m.duplicates.iter().all(|d| d.contains("(kept: ")));
    // The same choice every time: the first path in name order is kept.
    let again = merge::collect_all(&twice).unwrap();
    assert_eq!(m.duplicates, again.duplicates);
    assert_eq!(m.problems().len(), 2);

    let missing = merge::collect(&[root.join("nope")]).unwrap_err();
    assert!(missing.to_string().contains("no such folder"));
    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let none = merge::collect(&[empty]).unwrap_err();
    assert!(none.to_string().contains("no case.json under"));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_crashed_cell_has_its_own_colour_and_says_how_haproxy_died() {
    let mut crashed = record("crash", "3.0.11", Outcome::Crashed, Verdict::Fail);
    crashed.reason = "HAProxy died during step 1".into();
    crashed.haproxy_exit = vec![HaproxyExit {
        instance: "haproxy".into(),
        at_ms: 900,
        finished_at: None,
        during: "step 1 (wait be/app1 UP <within 5s>)".into(),
        exit_code: Some(132),
        signal: Some(4),
        oom_killed: false,
        while_starting: false,
        last_lines: vec!["FATAL: bug condition \"a | b\" matched at src/cli.c:12".into()],
        last_words: crate::haproxy::LastWords::parse(
            "FATAL: bug condition \"a | b\" matched at src/cli.c:12",
        ),
        core: Some("core-haproxy (16.0 MB)".into()),
        backtrace: Some("backtrace-haproxy.txt".into()),
        stopped_from_outside: None,
    }];
    // A crash outweighs a symptom seen in another run of the same cell.
    let other = record("crash", "3.0.11", Outcome::Reproduced, Verdict::Fail);
    let records = vec![crashed.clone(), other];
    assert_eq!(cells(&records)[0].outcome(), Outcome::Crashed);

    let records = vec![crashed];
    let md = matrix::markdown(&records);
    assert!(
        md.contains("🟪 crashed (haproxy SIGILL: BUG_ON(a \\| b) at src/cli.c:12)"),
        "{md}"
    );
    let html = html::page(&records, Path::new("results/x"));
    assert!(html.contains("o-crashed"), "the cell's colour");
    assert!(
        html.contains("BUG_ON(a | b) at src/cli.c:12"),
        "the cell's words"
    );
    assert!(html.contains("1 crashed"), "the summary counts it");
    let junit = junit::xml(&records).unwrap();
    assert!(junit.contains("fail: crashed"), "{junit}");
    assert!(junit.contains("HAProxy died: haproxy SIGILL"), "{junit}");
}

/// Shards of one matrix: each writes the whole plan and its own cases. A merge of the folders
/// names the plan's items none of them holds, keeps the newer run of a retried item, and names
/// a scenario measured from two texts of its file.
#[test]
fn merge_names_missing_retried_and_mixed_cases_from_the_plan() {
    let root = std::env::temp_dir().join(format!("haprepro-plan-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let items: Vec<String> = ["smoke@2.6.12", "smoke@3.0.11", "flap@2.6.12", "flap@3.0.11"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    // Shard k of 2 takes items k-1 and k+1; its run folder holds plan.json and its cases.
    let shard = |k: usize, run_id: &str, which: &[usize], digest: &str| -> PathBuf {
        let run_dir = root.join(format!("shard-{k}")).join(run_id);
        std::fs::create_dir_all(&run_dir).unwrap();
        let plan = Plan::new(run_id, items.clone(), Some((k, 2)));
        std::fs::write(
            run_dir.join("plan.json"),
            serde_json::to_string(&plan).unwrap(),
        )
        .unwrap();
        for &i in which {
            let (scenario, version) = items[i].split_once('@').unwrap();
            let mut r = record(scenario, version, Outcome::NotReproduced, Verdict::Pass);
            r.run_id = run_id.into();
            r.evidence_dir = run_dir.join(crate::runtime::sanitize(&r.case));
            r.provenance = Provenance {
                haprepro: haprepro_version().into(),
                scenario_digest: digest.into(),
                image_id: "sha256:1".into(),
                planned: Some(Planned {
                    plan: plan.plan.clone(),
                    item: items[i].clone(),
                }),
            };
            write_case(&r).unwrap();
        }
        root.join(format!("shard-{k}"))
    };
    // Shard 1 ran whole; shard 2 was cut short after its first case.
    let one = shard(1, "20260101-000000-aaaa", &[0, 2], "d1");
    let two = shard(2, "20260101-000000-bbbb", &[1], "d1");
    let m = merge::collect_all(&[one.clone(), two.clone()]).unwrap();
    assert_eq!(m.records.len(), 3);
    assert_eq!(m.missing.len(), 1, "{:?}", m.missing);
    assert!(
        m.missing[0].starts_with("flap@3.0.11 (plan "),
        "{:?}",
        m.missing
    );
    assert!(m.duplicates.is_empty() && m.mixed.is_empty());

    // Shard 2 retried: a newer run of the same plan answers both of its items; the earlier
    // run's case is named and left out, whatever order the folders are given in; and its
    // scenario file had changed in between.
    let retried = shard(2, "20260102-000000-cccc", &[1, 3], "d2");
    assert_eq!(retried, two);
    for dirs in [
        vec![one.clone(), two.clone()],
        vec![two.clone(), one.clone()],
    ] {
        let m = merge::collect_all(&dirs).unwrap();
        assert!(m.missing.is_empty(), "{:?}", m.missing);
        assert_eq!(m.records.len(), 4);
        assert_eq!(m.duplicates.len(), 1, "{:?}", m.duplicates);
        assert!(m.duplicates[0].contains("20260101-000000-bbbb"));
        let kept = m.records.iter().find(|r| r.case == "smoke@3.0.11").unwrap();
        assert_eq!(kept.run_id, "20260102-000000-cccc");
        // Both scenarios have cells of each text now.
        assert_eq!(m.mixed.len(), 2, "{:?}", m.mixed);
        assert!(m.mixed[0].starts_with("flap was measured from 2 different texts"));
        assert!(m.mixed[1].contains("(digests d1, d2)"), "{:?}", m.mixed);
    }
    let _ = std::fs::remove_dir_all(&root);
}
