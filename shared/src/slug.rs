//! Slugs name tenants in URLs and logins: lowercase ASCII letters, digits and
//! single hyphens, 2 to 63 characters, starting with a letter.

/// Why a candidate slug was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlugError {
    Length,
    Characters,
    Shape,
}

impl std::fmt::Display for SlugError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SlugError::Length => "must be 2 to 63 characters long",
            SlugError::Characters => "may contain only lowercase letters, digits and hyphens",
            SlugError::Shape => "must start with a letter and not end with or repeat a hyphen",
        })
    }
}

/// Checks a slug, returning it unchanged when valid.
pub fn parse_slug(candidate: &str) -> Result<&str, SlugError> {
    if !(2..=63).contains(&candidate.len()) {
        return Err(SlugError::Length);
    }
    if !candidate
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(SlugError::Characters);
    }
    let starts_with_letter = candidate.as_bytes()[0].is_ascii_lowercase();
    if !starts_with_letter || candidate.ends_with('-') || candidate.contains("--") {
        return Err(SlugError::Shape);
    }
    Ok(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_slugs() {
        assert_eq!(parse_slug("alpha"), Ok("alpha"));
        assert_eq!(parse_slug("clinic-24"), Ok("clinic-24"));
    }

    #[test]
    fn refuses_bad_slugs() {
        assert_eq!(parse_slug("a"), Err(SlugError::Length));
        assert_eq!(parse_slug("Alpha"), Err(SlugError::Characters));
        assert_eq!(parse_slug("al pha"), Err(SlugError::Characters));
        assert_eq!(parse_slug("1alpha"), Err(SlugError::Shape));
        assert_eq!(parse_slug("alpha-"), Err(SlugError::Shape));
        assert_eq!(parse_slug("al--pha"), Err(SlugError::Shape));
    }
}
