//! "Did you mean" suggestions for misspelt names.

/// The closest candidate to `name`, if one is close enough to be a plausible typo: a high
/// Jaro-Winkler similarity (good for long names), or few edits with transpositions counted as
/// one (good for short names such as `wbe` for `web`).
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let max_edits = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| {
            (
                strsim::jaro_winkler(name, c),
                strsim::osa_distance(name, c),
                c,
            )
        })
        .filter(|(score, edits, _)| *score >= 0.8 || *edits <= max_edits)
        .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
        .map(|(_, _, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let known = ["desired_count", "memory", "cpu", "health_check"];
        assert_eq!(did_you_mean("desired_cont", known), Some("desired_count"));
        assert_eq!(did_you_mean("memroy", known), Some("memory"));
        assert_eq!(did_you_mean("completely_else", known), None);
        assert_eq!(did_you_mean("wbe", ["api", "web"]), Some("web"));
        assert_eq!(did_you_mean("db", ["api", "web"]), None);
    }
}
