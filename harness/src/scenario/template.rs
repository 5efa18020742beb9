//! The haproxy.cfg template: HAProxy's own syntax with `{{ name }}` placeholders for what is
//! only known at run time (addresses, the DNS server's port). The names are the scenario's
//! roles, so the config reads with the same words as the scenario file.

use std::collections::BTreeMap;

/// A placeholder the values do not define, with its position in the template.
#[derive(Debug, Clone, PartialEq)]
pub struct Undefined {
    pub name: String,
    pub line: usize,
    pub column: usize,
    pub known: Vec<String>,
}

/// Replaces every `{{ name }}`; all undefined names are reported, not only the first.
pub fn render(template: &str, values: &BTreeMap<String, String>) -> Result<String, Vec<Undefined>> {
    let mut out = String::with_capacity(template.len());
    let mut undefined = Vec::new();
    for (line_no, line) in template.split_inclusive('\n').enumerate() {
        let mut rest = line;
        let mut col = 1;
        while let Some(open) = rest.find("{{") {
            let Some(close) = rest[open..].find("}}") else {
                break;
            };
            out.push_str(&rest[..open]);
            let name = rest[open + 2..open + close].trim();
            match values.get(name) {
                Some(v) => out.push_str(v),
                None => undefined.push(Undefined {
                    name: name.to_string(),
                    line: line_no + 1,
                    column: col + rest[..open].chars().count(),
                    known: values.keys().cloned().collect(),
                }),
            }
            col += rest[..open + close + 2].chars().count();
            rest = &rest[open + close + 2..];
        }
        out.push_str(rest);
    }
    if undefined.is_empty() {
        Ok(out)
    } else {
        Err(undefined)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_placeholders_and_locates_unknown_ones() {
        let values = BTreeMap::from([("web1.ip".to_string(), "10.0.0.3".to_string())]);
        let out = render("server s1 {{ web1.ip }}:8000\n", &values).unwrap();
        assert_eq!(out, "server s1 10.0.0.3:8000\n");
        let err = render("global\n  x {{web1.ip}} {{ web2.ip }}\n", &values).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(
            (err[0].name.as_str(), err[0].line, err[0].column),
            ("web2.ip", 2, 17)
        );
    }
}
