//! Page paths as stored and looked up: the api normalises what editors type and
//! the renderer normalises request paths the same way, so both agree.

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError(pub &'static str);

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// `About//Team/` becomes `/about/team`; `/` stays `/`. Segments may hold
/// lowercase letters, digits, `-`, `_` and `.` (not `.` or `..` alone).
pub fn normalize_path(raw: &str) -> Result<String, PathError> {
    let raw = raw.trim();
    if raw.len() > 512 {
        return Err(PathError("must be at most 512 characters"));
    }
    let raw = raw.split(['?', '#']).next().unwrap_or_default();
    let mut segments = Vec::new();
    for segment in raw.split('/').filter(|segment| !segment.is_empty()) {
        let segment = segment.to_ascii_lowercase();
        if segment == "." || segment == ".." {
            return Err(PathError("may not contain . or .. segments"));
        }
        if !segment
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        {
            return Err(PathError(
                "segments may contain only letters, digits, hyphens, underscores and dots",
            ));
        }
        segments.push(segment);
    }
    Ok(format!("/{}", segments.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_slashes_and_case() {
        assert_eq!(normalize_path("About//Team/").as_deref(), Ok("/about/team"));
        assert_eq!(normalize_path("/").as_deref(), Ok("/"));
        assert_eq!(normalize_path("").as_deref(), Ok("/"));
        assert_eq!(normalize_path("/pricing?utm=x").as_deref(), Ok("/pricing"));
    }

    #[test]
    fn refuses_traversal_and_odd_characters() {
        assert!(normalize_path("/a/../b").is_err());
        assert!(normalize_path("/a b").is_err());
        assert!(normalize_path("/<script>").is_err());
    }
}
