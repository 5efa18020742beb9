//! The small condition language of `reproduced_if` and `valid_if`: comparisons of measures with
//! numbers, joined by `and` (binds tighter) and `or`. No parentheses, on purpose: a condition
//! that needs them is clearer as two measures.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Alternatives (`or`), each a conjunction (`and`) of comparisons.
    any: Vec<Vec<Comparison>>,
    text: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Comparison {
    measure: String,
    op: Op,
    value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Ge,
    Le,
    Gt,
    Lt,
    Eq,
    Ne,
}

const OPS: [(&str, Op); 6] = [
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("==", Op::Eq),
    ("!=", Op::Ne),
    (">", Op::Gt),
    ("<", Op::Lt),
];

impl Condition {
    /// A condition that never holds; a placeholder until the real one is parsed.
    pub fn never() -> Condition {
        Condition {
            any: Vec::new(),
            text: "false".into(),
        }
    }

    /// Parses `a >= 1 and b == 0 or c > 2`; the error says which part is wrong.
    pub fn parse(text: &str) -> Result<Condition, String> {
        let mut any = Vec::new();
        for alternative in text.split(" or ") {
            let mut all = Vec::new();
            for part in alternative.split(" and ") {
                all.push(parse_comparison(part.trim())?);
            }
            any.push(all);
        }
        Ok(Condition {
            any,
            text: text.to_string(),
        })
    }

    /// The measure names the condition reads.
    pub fn measures(&self) -> impl Iterator<Item = &str> {
        self.any.iter().flatten().map(|c| c.measure.as_str())
    }

    pub fn eval(&self, measures: &BTreeMap<String, f64>) -> bool {
        self.any.iter().any(|all| {
            all.iter().all(|c| {
                // A measure that was not taken satisfies no comparison, not even `!=`.
                let Some(v) = measures.get(&c.measure).copied().filter(|v| !v.is_nan()) else {
                    return false;
                };
                match c.op {
                    Op::Ge => v >= c.value,
                    Op::Le => v <= c.value,
                    Op::Gt => v > c.value,
                    Op::Lt => v < c.value,
                    Op::Eq => v == c.value,
                    Op::Ne => v != c.value,
                }
            })
        })
    }

    /// The condition with each measure's value beside it: `syn_port0 (=0) >= 1`.
    ///
    /// Whole words only: a measure `syn` must not rewrite the `syn` inside `syn_to_8000`.
    pub fn explain(&self, measures: &BTreeMap<String, f64>) -> String {
        let names: std::collections::BTreeSet<&str> = self.measures().collect();
        let mut out = String::with_capacity(self.text.len() * 2);
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            out.push_str(word);
            if names.contains(word.as_str()) {
                if let Some(v) = measures.get(word.as_str()) {
                    out.push_str(&format!(" (={v})"));
                }
            }
            word.clear();
        };
        for ch in self.text.chars() {
            if ch.is_ascii_alphanumeric() || ch == '_' {
                word.push(ch);
            } else {
                flush(&mut word, &mut out);
                out.push(ch);
            }
        }
        flush(&mut word, &mut out);
        out
    }
}

fn parse_comparison(part: &str) -> Result<Comparison, String> {
    let (name, op, value) = OPS
        .iter()
        .find_map(|(sym, op)| part.split_once(sym).map(|(l, r)| (l.trim(), *op, r.trim())))
        .ok_or_else(|| format!("{part:?} is not a comparison: expected `measure OP number` with OP one of >= <= == != > <"))?;
    let valid_name =
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        return Err(format!(
            "{name:?} is not a measure name (letters, digits, _)"
        ));
    }
    let value = value
        .parse()
        .map_err(|_| format!("{value:?} is not a number (in {part:?})"))?;
    Ok(Comparison {
        measure: name.to_string(),
        op,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn and_binds_tighter_than_or() {
        let c = Condition::parse("a >= 1 and b == 0 or c > 2").unwrap();
        let m = |a, b, c| BTreeMap::from([("a".into(), a), ("b".into(), b), ("c".into(), c)]);
        assert!(c.eval(&m(1.0, 0.0, 0.0)));
        assert!(!c.eval(&m(1.0, 1.0, 0.0)));
        assert!(c.eval(&m(0.0, 1.0, 3.0)));
        assert_eq!(c.measures().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn a_missing_measure_never_satisfies() {
        let c = Condition::parse("x != 0").unwrap();
        assert!(!c.eval(&BTreeMap::new()));
    }

    #[test]
    fn explain_rewrites_whole_measure_names_only() {
        let c = Condition::parse("syn >= 1 or syn_to_8000 < 3 and syn_to_80 == 0").unwrap();
        let m = BTreeMap::from([
            ("syn".to_string(), 2.0),
            ("syn_to_8000".to_string(), 5.0),
            ("syn_to_80".to_string(), 0.0),
        ]);
        assert_eq!(
            c.explain(&m),
            "syn (=2) >= 1 or syn_to_8000 (=5) < 3 and syn_to_80 (=0) == 0"
        );
        // A measure that was not taken is left as written.
        let partial = BTreeMap::from([("syn_to_80".to_string(), 1.0)]);
        assert_eq!(
            c.explain(&partial),
            "syn >= 1 or syn_to_8000 < 3 and syn_to_80 (=1) == 0"
        );
    }

    #[test]
    fn numbers_in_the_condition_are_not_measures() {
        let c = Condition::parse("a1 >= 1").unwrap();
        let m = BTreeMap::from([("a1".to_string(), 1.0), ("1".to_string(), 9.0)]);
        assert_eq!(c.explain(&m), "a1 (=1) >= 1");
        assert!(c.eval(&m));
    }

    #[test]
    fn every_operator() {
        let m = BTreeMap::from([("x".to_string(), 2.0)]);
        for (text, holds) in [
            ("x >= 2", true),
            ("x <= 1", false),
            ("x == 2", true),
            ("x != 2", false),
            ("x > 1.5", true),
            ("x < 2", false),
        ] {
            assert_eq!(Condition::parse(text).unwrap().eval(&m), holds, "{text}");
        }
        let nan = BTreeMap::from([("x".to_string(), f64::NAN)]);
        assert!(!Condition::parse("x != 0").unwrap().eval(&nan));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(Condition::parse("a => 1")
            .unwrap_err()
            .contains("\"a =\" is not a measure name"));
        assert!(Condition::parse("a >= x")
            .unwrap_err()
            .contains("not a number"));
        assert!(Condition::parse("a")
            .unwrap_err()
            .contains("not a comparison"));
        assert!(Condition::parse("a b >= 1")
            .unwrap_err()
            .contains("not a measure name"));
    }
}
