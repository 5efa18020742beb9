//! An error's chain of causes (`source()`), walked here once for every place that prints one:
//! a record's one line, the CLI's "Caused by:" list.

use std::error::Error;

/// The causes of `e`, nearest first (not `e` itself).
pub fn of<'a>(e: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(e.source(), |cause: &&'a (dyn Error + 'static)| {
        (*cause).source()
    })
}

/// `e` and its causes on one line, joined by `: `.
pub fn one_line(e: &(dyn Error + 'static)) -> String {
    let mut text = e.to_string();
    for cause in of(e) {
        text.push_str(": ");
        text.push_str(&cause.to_string());
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_chain_reads_outermost_first() {
        let inner = std::io::Error::other("disk full");
        let outer = crate::images::ImageError::Io("write x".into(), inner);
        assert_eq!(super::one_line(&outer), "cannot write x: disk full");
        assert_eq!(super::of(&outer).count(), 1);
    }
}
