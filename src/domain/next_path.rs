/// Returns `next` if it is a path on this site, so that redirecting to it can never
/// leave the site: it starts with a single `/`, and has no `//`, no `\` and no
/// control characters. Anything else gives `None`.
pub fn safe_next_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.contains("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control())
        && next.len() <= 2048;
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::safe_next_path;

    #[test]
    fn local_paths_are_kept() {
        assert_eq!(safe_next_path("/queue"), Some("/queue"));
        assert_eq!(
            safe_next_path("/queue?page=2&s=a%20b"),
            Some("/queue?page=2&s=a%20b")
        );
        assert_eq!(safe_next_path("/"), Some("/"));
    }

    #[test]
    fn anything_that_could_leave_the_site_is_refused() {
        for bad in [
            "",
            "queue",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example/",
            "/ok//evil",
            "/a\nb",
            "/a\tb",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next_path(bad), None, "accepted {bad:?}");
        }
    }
}
