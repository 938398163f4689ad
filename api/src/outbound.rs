//! The outbound guard: every address a tenant can set (webhook URLs, SMS
//! providers' `base_url`, the SMTP host; payments, CRM and analytics next)
//! goes through here, when it is saved and again right before each send (a
//! DNS answer may change between the two). A name is resolved, every address
//! it resolves to must be public (no special-purpose range of the IANA IPv4
//! and IPv6 registries), and the send then connects to the checked address
//! itself, following no redirects and ignoring proxy variables.
//!
//! The operator's allow-list (`CMS_OUTBOUND_ALLOW_HOSTS`) holds addresses or
//! networks that may be reached anyway (a relay on the host, test servers on
//! 127.0.0.1) and host names providers may be pointed at besides their
//! public API. `CMS_OUTBOUND_HOSTS_FILE` is a hosts file read on every
//! resolution, before DNS: how tests make a name change its address between
//! a save and a send.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::Url;

/// The special-purpose ranges of the IANA IPv4 and IPv6 registries that no
/// tenant-set address may reach, each with why.
static FORBIDDEN: LazyLock<Vec<(IpNet, &'static str)>> = LazyLock::new(|| {
    [
        ("0.0.0.0/8", "a 'this network' address"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a carrier-grade NAT address"),
        ("127.0.0.0/8", "a loopback address"),
        (
            "169.254.0.0/16",
            "a link-local address (cloud metadata included)",
        ),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "an IETF protocol assignment"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a 6to4 relay anycast address"),
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address"),
        ("::ffff:0:0/96", "an IPv4-mapped address"),
        ("::/96", "an IPv4-compatible address"),
        ("64:ff9b::/96", "a NAT64 address"),
        ("64:ff9b:1::/48", "a local NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001::/23", "an IETF protocol assignment (Teredo included)"),
        ("2001:db8::/32", "a documentation address"),
        ("2002::/16", "a 6to4 address"),
        ("fc00::/7", "a unique-local (private) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    ]
    .into_iter()
    .filter_map(|(net, why)| net.parse().ok().map(|net| (net, why)))
    .collect()
});

/// Why `ip` may not be reached, if it may not.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    FORBIDDEN
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, why)| *why)
}

/// The operator's settings of the guard.
#[derive(Debug, Clone, Default)]
pub struct Outbound {
    /// Addresses and networks reachable although special (a local relay,
    /// test servers).
    pub allow_nets: Vec<IpNet>,
    /// Host names providers may be pointed at besides their public API.
    pub allow_names: Vec<String>,
    /// A hosts file consulted before DNS on every resolution.
    pub hosts_file: Option<PathBuf>,
}

impl Outbound {
    /// `CMS_OUTBOUND_ALLOW_HOSTS` (or its former name
    /// `CMS_WEBHOOK_ALLOW_HOSTS`): comma-separated IPs, CIDRs and host names.
    pub fn parse_allow(raw: &str) -> Self {
        let mut outbound = Outbound::default();
        for item in raw
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            match item
                .parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
            {
                Ok(net) => outbound.allow_nets.push(net),
                Err(_) => outbound.allow_names.push(item.to_ascii_lowercase()),
            }
        }
        outbound
    }

    fn allowed(&self, ip: IpAddr) -> bool {
        self.allow_nets.iter().any(|net| net.contains(&ip))
    }

    /// Whether a provider may be pointed at `host`: its own public API's
    /// host, a name the operator allows, or an address the operator allows.
    pub fn provider_host_allowed(&self, host: &str, default_host: Option<&str>) -> bool {
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        default_host.is_some_and(|default| default.eq_ignore_ascii_case(&host))
            || self.allow_names.contains(&host)
            || host.parse::<IpAddr>().is_ok_and(|ip| self.allowed(ip))
    }

    /// The hosts file's address for `name`, read now.
    fn hosts_file_addresses(&self, name: &str) -> Vec<IpAddr> {
        let Some(path) = &self.hosts_file else {
            return Vec::new();
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            return Vec::new();
        };
        text.lines()
            .filter_map(|line| {
                let mut words = line.split('#').next()?.split_whitespace();
                let ip: IpAddr = words.next()?.parse().ok()?;
                words
                    .any(|word| word.eq_ignore_ascii_case(name))
                    .then_some(ip)
            })
            .collect()
    }

    /// The addresses `host` resolves to, when every one of them may be
    /// reached; otherwise why not (said of the address: "resolves to ...").
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        let bare = host.trim_matches(['[', ']']);
        let addresses: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => {
                let pinned = self.hosts_file_addresses(bare);
                if pinned.is_empty() {
                    tokio::net::lookup_host((bare, port))
                        .await
                        .map_err(|err| format!("its host does not resolve: {err}"))?
                        .collect()
                } else {
                    pinned
                        .into_iter()
                        .map(|ip| SocketAddr::new(ip, port))
                        .collect()
                }
            }
        };
        if addresses.is_empty() {
            return Err("its host resolves to no address".into());
        }
        for address in &addresses {
            let ip = address.ip();
            if self.allowed(ip) {
                continue;
            }
            if let Some(reason) = forbidden(ip) {
                return Err(format!(
                    "resolves to {ip}, {reason}: only public addresses may be reached"
                ));
            }
        }
        Ok(addresses)
    }

    /// `resolve` for an http(s) URL.
    pub async fn resolve_url(&self, url: &Url) -> Result<Vec<SocketAddr>, String> {
        let port = url
            .port_or_known_default()
            .ok_or_else(|| "has no port".to_owned())?;
        let host = url.host_str().ok_or_else(|| "has no host".to_owned())?;
        self.resolve(host, port).await
    }
}

/// An HTTP client that connects only to `address` for the URL's host,
/// follows no redirects (a 3xx is an answer like any other) and ignores the
/// proxy variables (a proxy would connect to the name itself).
pub fn pinned_client(
    url: &Url,
    address: SocketAddr,
    timeout: Duration,
) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5).min(timeout))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if let Some(url::Host::Domain(name)) = url.host() {
        builder = builder.resolve(name, address);
    }
    builder.build()
}

/// What of a provider's answer may reach the tenant's log: printable
/// characters only, at most 200 of them.
pub fn summary(text: &str) -> String {
    let printable: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = printable.split_whitespace().collect::<Vec<_>>().join(" ");
    if trimmed.chars().count() > 200 {
        format!("{}…", trimmed.chars().take(200).collect::<String>())
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_special_purpose_range_is_refused() {
        for ip in [
            "0.1.2.3",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.9.9.9",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:0:4136:e378::1",
            "2001:db8::1",
            "2002:7f00:1::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap_or_else(|_| panic!("{ip}"));
            assert!(forbidden(ip).is_some(), "{ip} must be refused");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "198.20.0.1",
            "2606:4700::1",
            "2a00:1450::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap_or_else(|_| panic!("{ip}"));
            assert!(forbidden(ip).is_none(), "{ip} is public");
        }
    }

    #[test]
    fn the_allow_list_takes_addresses_networks_and_names() {
        let outbound = Outbound::parse_allow("127.0.0.1/32, ::1, relay.internal ,");
        assert_eq!(outbound.allow_nets.len(), 2);
        assert_eq!(outbound.allow_names, ["relay.internal"]);
        assert!(outbound.provider_host_allowed("sms.ru", Some("sms.ru")));
        assert!(outbound.provider_host_allowed("Relay.Internal", None));
        assert!(outbound.provider_host_allowed("127.0.0.1", None));
        assert!(outbound.provider_host_allowed("[::1]", None));
        assert!(!outbound.provider_host_allowed("evil.example", Some("sms.ru")));
    }

    #[test]
    fn summaries_are_printable_and_bounded() {
        assert_eq!(summary("ok\r\n\u{1b}[31mred\0"), "ok [31mred");
        assert_eq!(summary(&"x".repeat(500)).chars().count(), 201);
    }

    #[tokio::test]
    async fn the_hosts_file_is_read_on_every_resolution() {
        let path = std::env::temp_dir().join(format!("cms-hosts-{}", uuid::Uuid::now_v7()));
        std::fs::write(&path, "93.184.216.34 rebind.test\n").unwrap_or_default();
        let outbound = Outbound {
            hosts_file: Some(path.clone()),
            ..Default::default()
        };
        assert!(outbound.resolve("rebind.test", 80).await.is_ok());
        std::fs::write(&path, "127.0.0.1 rebind.test # now local\n").unwrap_or_default();
        let refused = outbound.resolve("rebind.test", 80).await;
        assert!(refused.is_err_and(|why| why.contains("127.0.0.1")));
        let _ = std::fs::remove_file(path);
    }
}
