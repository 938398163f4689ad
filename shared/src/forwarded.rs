//! The client's address behind load balancers. `X-Forwarded-For` is only
//! believed from a configured proxy, and only as far as it goes through
//! proxies: walking it from the right, the first address that is not a
//! trusted proxy is the client (anything left of it could be forged by the
//! client itself).

use std::net::IpAddr;

/// The client of a request that arrived from `peer` with `forwarded_for`
/// (the header's value, comma-separated), given the trusted proxies.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let Some(chain) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for hop in chain.rsplit(',') {
        let Ok(address) = hop.trim().parse::<IpAddr>() else {
            // An unreadable hop ends what can be believed.
            return client;
        };
        client = address;
        if !trusted.contains(&address) {
            return address;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_proxy_is_believed_and_only_as_far_as_proxies_go() {
        let proxy = ip("10.0.0.1");
        let trusted = [proxy, ip("10.0.0.2")];
        // Straight from a client: the header is the client's own word.
        assert_eq!(
            client_ip(ip("203.0.113.9"), Some("1.2.3.4"), &trusted),
            ip("203.0.113.9")
        );
        // Through the proxy: the address it saw.
        assert_eq!(
            client_ip(proxy, Some("198.51.100.7"), &trusted),
            ip("198.51.100.7")
        );
        // A forged left part is skipped: the rightmost untrusted hop counts.
        assert_eq!(
            client_ip(proxy, Some("1.2.3.4, 198.51.100.7, 10.0.0.2"), &trusted),
            ip("198.51.100.7")
        );
        // No header, or garbage: the proxy (or the last believed hop).
        assert_eq!(client_ip(proxy, None, &trusted), proxy);
        assert_eq!(client_ip(proxy, Some("nonsense"), &trusted), proxy);
        assert_eq!(
            client_ip(proxy, Some("::1, nonsense, 10.0.0.2"), &trusted),
            ip("10.0.0.2")
        );
    }
}
