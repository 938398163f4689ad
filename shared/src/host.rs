//! Host names as sites are looked up by: the api stores domains in this form and
//! the renderer normalises the request's Host header the same way, so both agree.

/// Why a host name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError(pub &'static str);

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Lowercases, drops a port and a trailing dot, and checks DNS label rules.
/// `Alpha.Example.com.:443` becomes `alpha.example.com`.
pub fn normalize_host(raw: &str) -> Result<String, HostError> {
    let trimmed = raw.trim();
    let without_port = match trimmed.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => trimmed,
    };
    let host = without_port.trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() || host.len() > 253 {
        return Err(HostError("must be 1 to 253 characters long"));
    }
    for label in host.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(HostError("each label must be 1 to 63 characters long"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(HostError(
                "may contain only letters, digits, hyphens and dots",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(HostError("a label may not start or end with a hyphen"));
        }
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_port_and_trailing_dot() {
        assert_eq!(
            normalize_host("Alpha.Example.com.:443").as_deref(),
            Ok("alpha.example.com")
        );
        assert_eq!(
            normalize_host("alpha.localhost").as_deref(),
            Ok("alpha.localhost")
        );
    }

    #[test]
    fn refuses_bad_hosts() {
        assert!(normalize_host("").is_err());
        assert!(normalize_host("bad host.com").is_err());
        assert!(normalize_host("-x.com").is_err());
        assert!(normalize_host("a..b").is_err());
        assert!(normalize_host("evil.com/path").is_err());
    }
}
