//! The haproxy.cfg template: HAProxy's own syntax with `{{ name }}` placeholders for what is
//! only known at run time (addresses, the DNS server's port), and loops for what repeats (300
//! backends, a server line per name). The names are the scenario's roles, so the config reads
//! with the same words as the scenario file.
//!
//! A loop is `{{ for NAME in ITEMS }}` ... `{{ end }}`, where ITEMS is a range of integers
//! (`1..=300` inclusive, `0..3` exclusive, as in Rust), a list (`[app, web, "db"]`) or a var
//! whose value is a list (`vars.names`, words separated by spaces or commas); inside it
//! `{{ NAME }}` is the current item. Loops nest. A line that holds nothing but a loop's tag is
//! left out of the output, so a block loop adds no blank lines. Every error has its line and
//! column in the template, also inside loops; the output is bounded ([`MAX_ITERATIONS`],
//! [`MAX_OUTPUT`]) so a typo in a range cannot fill the memory.

use std::collections::BTreeMap;

/// Most loop iterations one render may do, all loops together.
pub const MAX_ITERATIONS: usize = 100_000;
/// Largest rendered text, in bytes.
pub const MAX_OUTPUT: usize = 16 << 20;

/// A mistake in a template, with its position (1-based line and column, in characters).
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

#[derive(Debug)]
enum Node {
    Text(String),
    Value {
        name: String,
        line: usize,
        column: usize,
    },
    For {
        var: String,
        items: Items,
        body: Vec<Node>,
        line: usize,
        column: usize,
    },
}

#[derive(Debug)]
enum Items {
    Range(i64, i64),
    List(Vec<String>),
    Var(String),
}

enum Token {
    Text(String),
    Tag {
        text: String,
        line: usize,
        column: usize,
    },
}

/// Splits the template into text and `{{ ... }}` tags; a line holding only a loop tag becomes
/// the tag alone.
fn tokens(template: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for (line_no, line) in template.split_inclusive('\n').enumerate() {
        let trimmed = line.trim();
        if let Some(inner) = trimmed
            .strip_prefix("{{")
            .and_then(|t| t.strip_suffix("}}"))
            .filter(|inner| !inner.contains("{{") && !inner.contains("}}"))
        {
            let inner = inner.trim();
            if inner == "end" || inner.starts_with("for ") {
                let column = line.chars().take_while(|c| c.is_whitespace()).count() + 1;
                out.push(Token::Tag {
                    text: inner.to_string(),
                    line: line_no + 1,
                    column,
                });
                continue;
            }
        }
        let mut rest = line;
        let mut col = 1;
        while let Some(open) = rest.find("{{") {
            let Some(close) = rest[open..].find("}}") else {
                break;
            };
            out.push(Token::Text(rest[..open].to_string()));
            out.push(Token::Tag {
                text: rest[open + 2..open + close].trim().to_string(),
                line: line_no + 1,
                column: col + rest[..open].chars().count(),
            });
            col += rest[..open + close + 2].chars().count();
            rest = &rest[open + close + 2..];
        }
        out.push(Token::Text(rest.to_string()));
    }
    out
}

fn parse(template: &str) -> Result<Vec<Node>, Vec<TemplateError>> {
    // The open loops, innermost last, each with the nodes gathered so far.
    let mut stack: Vec<(Node, Vec<Node>)> = Vec::new();
    let mut top: Vec<Node> = Vec::new();
    let mut errors = Vec::new();
    for token in tokens(template) {
        let node = match token {
            Token::Text(t) => Node::Text(t),
            Token::Tag { text, line, column } => {
                if text == "end" {
                    match stack.pop() {
                        Some((mut open, outer)) => {
                            let body = std::mem::replace(&mut top, outer);
                            if let Node::For { body: b, .. } = &mut open {
                                *b = body;
                            }
                            open
                        }
                        None => {
                            errors.push(TemplateError {
                                line,
                                column,
                                message: "`end` without a `for`".into(),
                            });
                            continue;
                        }
                    }
                } else if let Some(header) = text.strip_prefix("for ") {
                    match parse_for(header) {
                        Ok((var, items)) => {
                            let open = Node::For {
                                var,
                                items,
                                body: Vec::new(),
                                line,
                                column,
                            };
                            // `top` now gathers the loop's body; the outer nodes wait on the
                            // stack beside it.
                            let outer = std::mem::take(&mut top);
                            stack.push((open, outer));
                            continue;
                        }
                        Err(message) => {
                            errors.push(TemplateError {
                                line,
                                column,
                                message,
                            });
                            continue;
                        }
                    }
                } else {
                    Node::Value {
                        name: text,
                        line,
                        column,
                    }
                }
            }
        };
        top.push(node);
    }
    // `top` is the innermost open body; close what is still open, reporting each.
    while let Some((open, outer)) = stack.pop() {
        if let Node::For { line, column, .. } = &open {
            errors.push(TemplateError {
                line: *line,
                column: *column,
                message: "this `for` has no `{{ end }}`".into(),
            });
        }
        top = outer;
    }
    if errors.is_empty() {
        Ok(top)
    } else {
        Err(errors)
    }
}

/// `NAME in ITEMS`.
fn parse_for(header: &str) -> Result<(String, Items), String> {
    let usage = "expected `for NAME in A..=B`, `for NAME in [a, b]` or `for NAME in vars.LIST`";
    let (var, items) = header
        .split_once(" in ")
        .ok_or_else(|| format!("{header:?}: {usage}"))?;
    let var = var.trim();
    if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("{var:?} is not a loop name (letters, digits, _)"));
    }
    let items = items.trim();
    let parsed = if let Some(list) = items.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
        Items::List(
            list.split(',')
                .map(|i| i.trim().trim_matches('"').to_string())
                .filter(|i| !i.is_empty())
                .collect(),
        )
    } else if let Some((a, b)) = items.split_once("..") {
        let (inclusive, b) = match b.strip_prefix('=') {
            Some(b) => (true, b),
            None => (false, b),
        };
        let number = |t: &str| {
            t.trim()
                .parse::<i64>()
                .map_err(|_| format!("{:?} is not an integer (in {items:?})", t.trim()))
        };
        let (a, b) = (number(a)?, number(b)?);
        let b = if inclusive { b } else { b.saturating_sub(1) };
        Items::Range(a, b)
    } else if items.starts_with("vars.") {
        Items::Var(items.to_string())
    } else {
        return Err(format!("{items:?}: {usage}"));
    };
    Ok((var.to_string(), parsed))
}

struct Renderer<'a> {
    values: &'a BTreeMap<String, String>,
    scope: Vec<(String, String)>,
    out: String,
    iterations: usize,
    errors: Vec<TemplateError>,
    /// Set once a bound is hit: rendering stops there.
    stopped: bool,
}

impl Renderer<'_> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.scope
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .or_else(|| self.values.get(name).map(String::as_str))
    }

    fn error(&mut self, line: usize, column: usize, message: String) {
        let e = TemplateError {
            line,
            column,
            message,
        };
        // A mistake inside a loop would otherwise be reported once per iteration.
        if !self.errors.contains(&e) {
            self.errors.push(e);
        }
    }

    fn push(&mut self, text: &str) {
        if self.out.len() + text.len() > MAX_OUTPUT {
            if !self.stopped {
                self.error(
                    1,
                    1,
                    format!("the rendered config would exceed {MAX_OUTPUT} bytes"),
                );
            }
            self.stopped = true;
            return;
        }
        self.out.push_str(text);
    }

    fn render(&mut self, nodes: &[Node]) {
        for node in nodes {
            if self.stopped {
                return;
            }
            match node {
                Node::Text(t) => self.push(t),
                Node::Value { name, line, column } => match self.lookup(name) {
                    Some(v) => {
                        let v = v.to_string();
                        self.push(&v)
                    }
                    None => {
                        let mut known: Vec<String> = self.values.keys().cloned().collect();
                        known.extend(self.scope.iter().map(|(n, _)| n.clone()));
                        self.error(
                            *line,
                            *column,
                            format!("undefined name {name:?}; defined: {}", known.join(", ")),
                        );
                    }
                },
                Node::For {
                    var,
                    items,
                    body,
                    line,
                    column,
                } => {
                    let items: Vec<String> = match items {
                        Items::Range(a, b) => {
                            let n = if b >= a { (b - a + 1) as u128 } else { 0 };
                            if n > (MAX_ITERATIONS - self.iterations.min(MAX_ITERATIONS)) as u128 {
                                self.error(
                                    *line,
                                    *column,
                                    format!(
                                        "{n} iterations: at most {MAX_ITERATIONS} in one config"
                                    ),
                                );
                                self.stopped = true;
                                return;
                            }
                            (*a..=*b).map(|i| i.to_string()).collect()
                        }
                        Items::List(list) => list.clone(),
                        Items::Var(name) => match self.lookup(name) {
                            Some(v) => v
                                .split(|c: char| c == ',' || c.is_whitespace())
                                .filter(|i| !i.is_empty())
                                .map(str::to_string)
                                .collect(),
                            None => {
                                self.error(
                                    *line,
                                    *column,
                                    format!("undefined list {name:?} (set it in [vars])"),
                                );
                                continue;
                            }
                        },
                    };
                    for item in items {
                        self.iterations += 1;
                        if self.iterations > MAX_ITERATIONS {
                            self.error(
                                *line,
                                *column,
                                format!("more than {MAX_ITERATIONS} iterations in one config"),
                            );
                            self.stopped = true;
                            return;
                        }
                        self.scope.push((var.clone(), item));
                        self.render(body);
                        self.scope.pop();
                    }
                }
            }
        }
    }
}

/// Renders the template; every mistake is reported, not only the first.
pub fn render(
    template: &str,
    values: &BTreeMap<String, String>,
) -> Result<String, Vec<TemplateError>> {
    let nodes = parse(template)?;
    let mut r = Renderer {
        values,
        scope: Vec::new(),
        out: String::with_capacity(template.len()),
        iterations: 0,
        errors: Vec::new(),
        stopped: false,
    };
    r.render(&nodes);
    if r.errors.is_empty() {
        Ok(r.out)
    } else {
        Err(r.errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("web1.ip".to_string(), "10.0.0.3".to_string()),
            ("zone".to_string(), "svc.test".to_string()),
            ("vars.names".to_string(), "app, web db".to_string()),
        ])
    }

    #[test]
    fn fills_placeholders_and_locates_unknown_ones() {
        let out = render("server s1 {{ web1.ip }}:8000\n", &values()).unwrap();
        assert_eq!(out, "server s1 10.0.0.3:8000\n");
        let err = render("global\n  x {{web1.ip}} {{ web2.ip }}\n", &values()).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!((err[0].line, err[0].column), (2, 17));
        assert!(err[0].message.starts_with("undefined name \"web2.ip\""));
    }

    #[test]
    fn a_block_loop_repeats_its_lines_without_blank_ones() {
        let t = "global\n{{ for i in 1..=3 }}\nbackend be{{ i }}\n    server s 10.0.0.{{ i }}:80\n{{ end }}\nend\n";
        let out = render(t, &values()).unwrap();
        assert_eq!(
            out,
            "global\nbackend be1\n    server s 10.0.0.1:80\nbackend be2\n    server s 10.0.0.2:80\n\
             backend be3\n    server s 10.0.0.3:80\nend\n"
        );
        let exclusive = render("{{ for i in 0..2 }}{{ i }} {{ end }}\n", &values()).unwrap();
        assert_eq!(exclusive, "0 1 \n");
    }

    #[test]
    fn lists_vars_and_nested_loops() {
        let t = "{{ for n in vars.names }}\n  {{ for k in [a, \"b\"] }}\n  server {{ n }}-{{ k }} {{ n }}.{{ zone }}\n  {{ end }}\n{{ end }}\n";
        let out = render(t, &values()).unwrap();
        assert_eq!(out.lines().count(), 6);
        assert!(out.contains("  server app-a app.svc.test\n"));
        assert!(out.contains("  server db-b db.svc.test\n"));
    }

    #[test]
    fn loop_errors_are_located_once() {
        let err = render(
            "a\n{{ for i in 1..=300 }}\nserver s{{ j }}\n{{ end }}\n",
            &values(),
        )
        .unwrap_err();
        assert_eq!(err.len(), 1, "{err:?}");
        assert_eq!((err[0].line, err[0].column), (3, 9));
        assert!(err[0].message.contains("\"j\""), "{err:?}");
        let err = render("x\n  {{ for i in 1..=3 }}\ny\n", &values()).unwrap_err();
        assert_eq!((err[0].line, err[0].column), (2, 3));
        assert!(err[0].message.contains("no `{{ end }}`"));
        let err = render("{{ end }}\n", &values()).unwrap_err();
        assert!(err[0].message.contains("without a `for`"));
        let err = render("{{ for i in 1..x }}\n{{ end }}\n", &values()).unwrap_err();
        assert!(
            err[0].message.contains("\"x\" is not an integer"),
            "{err:?}"
        );
        let err = render("{{ for i of 1..2 }}\n{{ end }}\n", &values()).unwrap_err();
        assert!(err[0].message.contains("expected `for NAME in"), "{err:?}");
        let err = render("{{ for i in vars.nope }}\n{{ end }}\n", &values()).unwrap_err();
        assert!(err[0].message.contains("undefined list"), "{err:?}");
    }

    #[test]
    fn loops_are_bounded() {
        let err = render("{{ for i in 1..=1000000000 }}x{{ end }}\n", &values()).unwrap_err();
        assert!(err[0].message.contains("at most"), "{err:?}");
        let nested = "{{ for a in 1..=1000 }}{{ for b in 1..=1000 }}x{{ end }}{{ end }}\n";
        let err = render(nested, &values()).unwrap_err();
        assert!(err[0].message.contains("iterations"), "{err:?}");
    }
}
