//! Where Redis is, read the same way by the api and the renderer: one server
//! (`REDIS_URL`), or whichever server the Sentinels of a service name as its
//! master (`REDIS_SENTINELS`, `REDIS_SENTINEL_SERVICE`), so a failover moves
//! both services to the promoted replica without a restart.

/// The service name Sentinel's own examples use, when none is given.
pub const DEFAULT_SENTINEL_SERVICE: &str = "mymaster";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisEndpoint {
    /// `redis://host:port[/db]`.
    Url(String),
    /// The master of `service` as the Sentinels at `sentinels` report it.
    Sentinel {
        sentinels: Vec<(String, u16)>,
        service: String,
    },
}

/// A setting that cannot be used: its name and why.
#[derive(Debug, PartialEq, Eq)]
pub struct EndpointError {
    pub name: &'static str,
    pub reason: String,
}

impl RedisEndpoint {
    /// Reads `REDIS_URL`, `REDIS_SENTINELS` and `REDIS_SENTINEL_SERVICE`
    /// through `get` (which answers only non-empty values). None: Redis is
    /// not configured. Both a URL and Sentinels is refused: which one wins
    /// would be a guess.
    pub fn from_settings(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, EndpointError> {
        let url = get("REDIS_URL");
        let Some(sentinels) = get("REDIS_SENTINELS") else {
            return Ok(url.map(RedisEndpoint::Url));
        };
        if url.is_some() {
            return Err(EndpointError {
                name: "REDIS_SENTINELS",
                reason: "set either REDIS_URL or REDIS_SENTINELS, not both".into(),
            });
        }
        let sentinels = sentinels
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(host_and_port)
            .collect::<Result<Vec<_>, _>>()?;
        if sentinels.is_empty() {
            return Err(EndpointError {
                name: "REDIS_SENTINELS",
                reason: "no host:port in the list".into(),
            });
        }
        let service = get("REDIS_SENTINEL_SERVICE")
            .map(|name| name.trim().to_owned())
            .unwrap_or_else(|| DEFAULT_SENTINEL_SERVICE.to_owned());
        Ok(Some(RedisEndpoint::Sentinel { sentinels, service }))
    }

    /// For log lines: the URL, or `sentinel service at host:port,...`.
    pub fn describe(&self) -> String {
        match self {
            RedisEndpoint::Url(url) => url.clone(),
            RedisEndpoint::Sentinel { sentinels, service } => format!(
                "Sentinel service {service:?} at {}",
                sentinels
                    .iter()
                    .map(|(host, port)| format!("{host}:{port}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}

/// `host:port`, `[v6]:port`.
fn host_and_port(raw: &str) -> Result<(String, u16), EndpointError> {
    let invalid = |why: &str| EndpointError {
        name: "REDIS_SENTINELS",
        reason: format!("{raw:?}: {why}"),
    };
    let (host, port) = raw
        .rsplit_once(':')
        .ok_or_else(|| invalid("expected host:port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(invalid("no host"));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| invalid("the port is not a number"))?;
    if port == 0 {
        return Err(invalid("port 0"));
    }
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<Option<RedisEndpoint>, EndpointError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        RedisEndpoint::from_settings(|name| vars.get(name).cloned())
    }

    #[test]
    fn nothing_set_means_no_redis_and_a_url_is_used_as_given() {
        assert_eq!(read(&[]), Ok(None));
        assert_eq!(
            read(&[("REDIS_URL", "redis://127.0.0.1:6379")]),
            Ok(Some(RedisEndpoint::Url("redis://127.0.0.1:6379".into())))
        );
    }

    #[test]
    fn sentinels_are_parsed_with_the_default_service() {
        assert_eq!(
            read(&[(
                "REDIS_SENTINELS",
                "10.0.0.1:26379, sentinel-b:26380,[::1]:26381"
            )]),
            Ok(Some(RedisEndpoint::Sentinel {
                sentinels: vec![
                    ("10.0.0.1".into(), 26379),
                    ("sentinel-b".into(), 26380),
                    ("::1".into(), 26381)
                ],
                service: "mymaster".into(),
            }))
        );
        assert_eq!(
            read(&[
                ("REDIS_SENTINELS", "127.0.0.1:26379"),
                ("REDIS_SENTINEL_SERVICE", "cms")
            ])
            .unwrap()
            .unwrap()
            .describe(),
            "Sentinel service \"cms\" at 127.0.0.1:26379"
        );
    }

    #[test]
    fn bad_sentinel_settings_are_refused_by_name() {
        for bad in ["127.0.0.1", "127.0.0.1:x", ":26379", "host:0", " , "] {
            let err = read(&[("REDIS_SENTINELS", bad)]).unwrap_err();
            assert_eq!(err.name, "REDIS_SENTINELS", "{bad}");
        }
        let both = read(&[
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("REDIS_SENTINELS", "127.0.0.1:26379"),
        ])
        .unwrap_err();
        assert!(both.reason.contains("not both"), "{}", both.reason);
    }
}
