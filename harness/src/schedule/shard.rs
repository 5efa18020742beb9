//! `--shard K/N`: deterministic parts of a case list, for CI jobs that split one run.

use std::str::FromStr;

/// `--shard K/N`: the K-th (1-based) of N parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not K/N (for example 2/4)"))?;
        let parse = |x: &str, what: &str| {
            x.trim()
                .parse::<usize>()
                .map_err(|_| format!("{what} in {s:?} is not a whole number"))
        };
        let (k, n) = (parse(k, "K")?, parse(n, "N")?);
        if n == 0 || k == 0 || k > n {
            return Err(format!(
                "shard {k} of {n} does not exist: K must be between 1 and N (N >= 1)"
            ));
        }
        Ok(Shard { k, n })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

/// The cases of shard `k` of `n`: sorted by (scenario, version), every n-th from the k-th on.
/// The same list gives the same shards on every machine, and the shards cover it exactly once.
pub fn shard_cases(
    mut cases: Vec<(String, String)>,
    shard: Option<Shard>,
) -> Vec<(String, String)> {
    cases.sort();
    cases.dedup();
    match shard {
        None => cases,
        Some(Shard { k, n }) => cases
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % n == k - 1)
            .map(|(_, c)| c)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cases(n_scenarios: usize, versions: &[&str]) -> Vec<(String, String)> {
        (0..n_scenarios)
            .flat_map(|s| {
                versions
                    .iter()
                    .map(move |v| (format!("s{s}"), v.to_string()))
            })
            .collect()
    }

    #[test]
    fn shards_cover_the_case_list_exactly_once_whatever_its_order() {
        let all = cases(5, &["2.6.12", "3.0.11", "3.2.26", "3.4.7", "2.2.9"]);
        for n in 1..=7 {
            let mut seen = Vec::new();
            for k in 1..=n {
                let mut reversed = all.clone();
                reversed.reverse();
                let part = shard_cases(all.clone(), Some(Shard { k, n }));
                assert_eq!(part, shard_cases(reversed, Some(Shard { k, n })));
                assert!(part.len().abs_diff(all.len() / n) <= 1);
                seen.extend(part);
            }
            seen.sort();
            assert_eq!(seen, shard_cases(all.clone(), None), "n={n}");
        }
    }

    #[test]
    fn shard_syntax_and_range() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { k: 2, n: 4 }));
        assert_eq!("1/1".parse::<Shard>(), Ok(Shard { k: 1, n: 1 }));
        let err = "3/2".parse::<Shard>().unwrap_err();
        assert!(err.contains("K must be between 1 and N"), "{err}");
        assert!("0/2".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("2".parse::<Shard>().unwrap_err().contains("not K/N"));
        assert!("a/2".parse::<Shard>().unwrap_err().contains("whole number"));
    }
}
