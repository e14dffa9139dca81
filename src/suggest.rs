//! "Did you mean" suggestions for misspelt names.

/// The closest candidate to `name`, if one is close enough to be a plausible typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
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
    }
}
