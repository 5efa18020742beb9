//! The README's quick start is what CI runs: the prerequisites line names the packages
//! `.ci/setup` installs, and `.ci/run` runs the main command as written (on one scenario and
//! one version) before anything else is built, and exactly the test command. A change to one
//! without the other fails here, before a new user finds out. And the links between the README
//! and the guide in `docs/` resolve.

use crate::support::workspace;

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The lines of the `sh` blocks of the README's quick start, comments dropped.
fn quick_start_commands() -> Vec<String> {
    let readme = read("README.md");
    let start = readme
        .find("## Quick start")
        .expect("a Quick start section");
    let section = &readme[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let mut commands = Vec::new();
    let mut in_block = false;
    for line in section[..end].lines() {
        if line.starts_with("```") {
            in_block = !in_block;
        } else if in_block {
            let command = line.split('#').next().unwrap_or("").trim();
            if !command.is_empty() {
                commands.push(command.to_string());
            }
        }
    }
    commands
}

#[test]
fn the_quick_start_is_three_lines_prerequisites_main_command_tests() {
    let commands = quick_start_commands();
    assert_eq!(commands.len(), 3, "{commands:?}");
    assert!(commands[0].starts_with("apt-get install"), "{commands:?}");
    assert_eq!(commands[1], "cargo run --release -- matrix");
    assert_eq!(commands[2], "cargo test");
}

#[test]
fn ci_runs_the_readme_commands_as_written() {
    let commands = quick_start_commands();
    let run = read(".ci/run");
    let lines: Vec<&str> = run
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("echo"))
        .collect();
    let main = lines
        .iter()
        .position(|l| l.starts_with(&format!("{} ", commands[1])))
        .unwrap_or_else(|| panic!(".ci/run does not run `{}`:\n{run}", commands[1]));
    let main_line = lines[main];
    assert!(
        main_line.contains("--scenarios ") && main_line.contains("--versions "),
        "the main command runs on one scenario and one version: {main_line}"
    );
    let first_cargo = lines.iter().position(|l| l.starts_with("cargo")).unwrap();
    assert_eq!(
        first_cargo, main,
        "nothing is built before the README's main command"
    );
    assert!(
        lines.contains(&commands[2].as_str()),
        ".ci/run does not run exactly `{}`:\n{run}",
        commands[2]
    );
}

#[test]
fn the_prerequisites_line_names_what_ci_setup_installs() {
    let commands = quick_start_commands();
    let mut readme: Vec<&str> = commands[0]
        .split_whitespace()
        .skip(2)
        .filter(|w| !w.starts_with('-'))
        .collect();
    let setup = read(".ci/setup");
    let list = setup
        .lines()
        .find_map(|l| l.trim().strip_prefix("for pkg in "))
        .and_then(|l| l.strip_suffix("; do"))
        .expect(".ci/setup has a `for pkg in ...; do` line");
    let mut wanted: Vec<&str> = list.split_whitespace().collect();
    // Docker is checked by its command and installed as docker.io when missing.
    wanted.push("docker.io");
    readme.sort();
    wanted.sort();
    assert_eq!(readme, wanted);
}

/// A heading's anchor as GitHub makes it: lowercase, punctuation dropped but `-` and `_`,
/// spaces as `-`; a repeated heading gets `-1`, `-2`, ...
fn anchors(text: &str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block || !line.starts_with('#') {
            continue;
        }
        let Some(heading) = line.trim_start_matches('#').strip_prefix(' ') else {
            continue;
        };
        let slug: String = heading
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let n = seen.iter().filter(|s| **s == slug).count();
        out.push(if n == 0 {
            slug.clone()
        } else {
            format!("{slug}-{n}")
        });
        seen.push(slug);
    }
    out
}

/// The README is layered (issue #19): the guide is in `docs/`, and every relative link of the
/// README, the guide, images/README.md, BENCHMARKS.md and the scenarios' READMEs names a file
/// that exists and, for a Markdown file, a heading it has. A section moved or renamed without
/// its links fails here.
#[test]
fn every_relative_link_of_the_docs_names_a_file_and_heading_that_exist() {
    let root = workspace();
    let mut files = vec![
        root.join("README.md"),
        root.join("BENCHMARKS.md"),
        root.join("images/README.md"),
    ];
    for dir in ["docs", "scenarios"] {
        for entry in std::fs::read_dir(root.join(dir)).expect(dir).flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.push(path.join("README.md"));
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    let mut broken = Vec::new();
    for file in files.iter().filter(|f| f.exists()) {
        let text = std::fs::read_to_string(file).expect("read");
        for link in text.split("](").skip(1) {
            let Some(target) = link
                .split(')')
                .next()
                .filter(|t| !t.contains(char::is_whitespace))
            else {
                continue;
            };
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
            let dest = if path.is_empty() {
                file.clone()
            } else {
                file.parent().expect("a folder").join(path)
            };
            let shown = file.strip_prefix(&root).unwrap_or(file).display();
            if !dest.exists() {
                broken.push(format!("{shown}: {target}: no such file"));
            } else if !anchor.is_empty()
                && dest.extension().is_some_and(|e| e == "md")
                && !anchors(&std::fs::read_to_string(&dest).expect("read"))
                    .contains(&anchor.to_string())
            {
                broken.push(format!("{shown}: {target}: no such heading"));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
