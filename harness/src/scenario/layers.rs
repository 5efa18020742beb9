//! The layers of `scenario/`, checked on its sources: no import circle between its files, and
//! the words (`step/`, `measure/`) and the case context (`case/`) import only what their layer
//! may. An import is a path through `super::` or `crate::scenario::`, a parent's use of a
//! child module (`mod x;` then `x::`), or a registry's line (`word: Variant(Type)`), each
//! resolved to the file that defines it; `mod.rs` of `scenario/` is the facade and imports
//! nothing back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Helpers that any layer may use: each imports nothing of `scenario/` but other helpers.
const HELPERS: &[&str] = &[
    "bounds.rs",
    "contain.rs",
    "deadline.rs",
    "duration.rs",
    "problem.rs",
    "template.rs",
    "words.rs",
];

type Graph = BTreeMap<String, BTreeSet<String>>;

fn sources(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                if rel == "layers.rs" || rel.ends_with("tests.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                // Test modules may import anything.
                let text = text.split("#[cfg(test)]").next().unwrap().to_string();
                out.insert(rel, text);
            }
        }
    }
    out
}

/// The module path of a file: `step/wait.rs` is `[step, wait]`, `step/mod.rs` is `[step]`.
fn module_of(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The file that defines the longest prefix of a path, if any.
fn file_of(files: &BTreeMap<String, String>, path: &[String]) -> Option<String> {
    (1..=path.len()).rev().find_map(|n| {
        let joined = path[..n].join("/");
        [format!("{joined}.rs"), format!("{joined}/mod.rs")]
            .into_iter()
            .find(|f| files.contains_key(f))
    })
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `a::b::C` or `a::{b, c::D}` from the start of `text`: the paths it names.
fn paths_at(text: &str) -> Vec<Vec<String>> {
    let mut head = Vec::new();
    let mut rest = text;
    loop {
        let n = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        if n == 0 {
            break;
        }
        head.push(rest[..n].to_string());
        rest = &rest[n..];
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => return vec![head],
        }
    }
    let Some(group) = rest.strip_prefix('{') else {
        return vec![head];
    };
    let (mut depth, mut item, mut out) = (0, String::new(), Vec::new());
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut item));
                continue;
            }
            _ => {}
        }
        item.push(c);
    }
    out.push(item);
    out.iter()
        .flat_map(|i| paths_at(i.trim()))
        .map(|tail| head.iter().cloned().chain(tail).collect())
        .collect()
}

fn imports(files: &BTreeMap<String, String>, file: &str, text: &str) -> BTreeSet<String> {
    let me = module_of(file);
    let mut out = BTreeSet::new();
    let mut add = |path: Vec<String>| {
        if let Some(f) = file_of(files, &path) {
            if f != file {
                out.insert(f);
            }
        }
    };
    for (at, _) in text.match_indices("crate::scenario::") {
        for p in paths_at(&text[at + 17..]) {
            add(p);
        }
    }
    for (at, _) in text.match_indices("super::") {
        if text[..at].ends_with("super::") || text[..at].ends_with(|c: char| is_ident(c)) {
            continue;
        }
        let mut rest = &text[at..];
        let mut base = me.clone();
        while let Some(r) = rest.strip_prefix("super::") {
            base.pop();
            rest = r;
        }
        for p in paths_at(rest) {
            add(base.iter().cloned().chain(p).collect());
        }
    }
    for line in text.lines() {
        let line = line.trim();
        // `mod x;` and a use of `x::` in the same file: the parent depends on its child.
        if let Some(child) = line
            .trim_start_matches("pub(crate) ")
            .trim_start_matches("pub ")
            .strip_prefix("mod ")
            .and_then(|l| l.strip_suffix(';'))
        {
            let used = text
                .match_indices(&format!("{child}::"))
                .any(|(at, _)| !text[..at].ends_with(|c: char| is_ident(c) || c == ':'));
            if used {
                add(me.iter().cloned().chain([child.to_string()]).collect());
            }
        }
        // A registry's line, `word: Variant(Type)`, names the word's module.
        if file == "step/mod.rs" || file == "measure/mod.rs" {
            if let Some((word, rest)) = line.split_once(": ") {
                if word.chars().all(is_ident)
                    && rest.starts_with(|c: char| c.is_ascii_uppercase())
                    && rest.contains('(')
                {
                    add(me.iter().cloned().chain([word.to_string()]).collect());
                }
            }
        }
    }
    out
}

fn graph() -> Graph {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/scenario");
    let files = sources(&root);
    files
        .iter()
        .map(|(f, text)| (f.clone(), imports(&files, f, text)))
        .collect()
}

/// Files on a circle of imports, one circle per entry (Tarjan's strongly connected parts).
fn circles(g: &Graph) -> Vec<Vec<String>> {
    struct T<'g> {
        g: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on: BTreeSet<&'g str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(t: &mut T<'g>, v: &'g str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            if !t.index.contains_key(w.as_str()) {
                visit(t, w);
                let lw = t.low[w.as_str()];
                t.low.entry(v).and_modify(|l| *l = (*l).min(lw));
            } else if t.on.contains(w.as_str()) {
                let iw = t.index[w.as_str()];
                t.low.entry(v).and_modify(|l| *l = (*l).min(iw));
            }
        }
        if t.low[v] == t.index[v] {
            let mut part = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                part.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if part.len() > 1 {
                part.sort();
                t.out.push(part);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn scenario_has_no_import_circle() {
    let g = graph();
    assert!(g.len() > 40, "the scan found only {} files", g.len());
    assert!(
        g["run/mod.rs"].contains("run/steps.rs"),
        "{:?}",
        g["run/mod.rs"]
    );
    assert_eq!(circles(&g), Vec::<Vec<String>>::new());
}

/// `step/` and `measure/` import only the file model, the checking vocabulary, the records, the
/// case context, the evidence and the helpers; the case context only the records, the watchers,
/// the file model's parts and the helpers. A word that needs more needs a new seam first.
#[test]
fn words_and_the_case_context_import_only_their_layers() {
    let g = graph();
    let under = |f: &str, dirs: &[&str]| dirs.iter().any(|d| f.starts_with(d));
    let mut wrong = Vec::new();
    for (file, targets) in &g {
        let allowed: &dyn Fn(&str) -> bool = if under(file, &["step/", "measure/"]) {
            &|t: &str| {
                under(t, &["model/", "record/", "case/", "step/", "measure/"])
                    && t != "model/mod.rs"
                    || ["check.rs", "evidence.rs", "reference/doc.rs"].contains(&t)
                    || HELPERS.contains(&t)
            }
        } else if file.starts_with("case/") {
            &|t: &str| {
                under(t, &["case/", "record/", "model/"]) && t != "model/mod.rs"
                    || t == "watch.rs"
                    || HELPERS.contains(&t)
            }
        } else if HELPERS.contains(&file.as_str()) {
            &|t: &str| HELPERS.contains(&t)
        } else {
            continue;
        };
        // A word file may use its own registry's siblings but never the registry itself.
        let registry =
            |t: &str| (t == "step/mod.rs" || t == "measure/mod.rs") && !file.ends_with("mod.rs");
        for t in targets {
            if !allowed(t) || registry(t) {
                wrong.push(format!("{file} imports {t}"));
            }
        }
    }
    assert_eq!(wrong, Vec::<String>::new());
}
