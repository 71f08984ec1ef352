//! Who the client is, for per-IP limits (docs/limits.md).
//!
//! Behind `TRUSTED_PROXY_HOPS` proxies, each of which appends the address it saw
//! to `X-Forwarded-For`, the client is the Nth entry from the right: everything
//! left of it was written by the client and proves nothing. With too few
//! entries, or one that is not an IP address, the socket address is used.

use axum::http::HeaderMap;
use std::net::{IpAddr, Ipv6Addr};

pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, hops: usize) -> Option<IpAddr> {
    if hops == 0 {
        return peer;
    }
    // Every header line, in order, as one list.
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if entries.len() < hops {
        return peer;
    }
    match entries[entries.len() - hops].parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) => peer,
    }
}

/// The key a limit counts an address under: an IPv4 address as it is, an IPv6
/// client by its /64 (one household or server gets a whole /64).
pub fn limit_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let prefix = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{prefix}/64")
            }
        },
    }
}

/// The client of a request as its socket and headers say, before any limit key.
pub fn of_request(parts: &axum::http::request::Parts, hops: usize) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|axum::extract::ConnectInfo(addr)| addr.ip());
    client_ip(&parts.headers, peer, hops)
}

/// The key per-IP limits count a request's client under.
pub fn limit_key_of(parts: &axum::http::request::Parts, hops: usize) -> Option<String> {
    of_request(parts, hops).map(limit_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for l in lines {
            h.append("x-forwarded-for", l.parse().unwrap());
        }
        h
    }

    const PEER: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let h = headers(&["1.2.3.4"]);
        assert_eq!(client_ip(&h, PEER, 0), PEER);
    }

    #[test]
    fn the_nth_entry_from_the_right_across_every_line() {
        // The client wrote "6.6.6.6" itself; our one proxy appended 1.2.3.4.
        let h = headers(&["6.6.6.6", "1.2.3.4"]);
        assert_eq!(client_ip(&h, PEER, 1), "1.2.3.4".parse().ok());
        let h = headers(&["6.6.6.6, 1.2.3.4", "9.9.9.9"]);
        assert_eq!(client_ip(&h, PEER, 2), "1.2.3.4".parse().ok());
        assert_eq!(client_ip(&h, PEER, 1), "9.9.9.9".parse().ok());
    }

    #[test]
    fn too_few_entries_or_garbage_fall_back_to_the_socket() {
        assert_eq!(client_ip(&headers(&["1.2.3.4"]), PEER, 2), PEER);
        assert_eq!(client_ip(&headers(&["not-an-ip"]), PEER, 1), PEER);
        assert_eq!(client_ip(&HeaderMap::new(), PEER, 1), PEER);
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(limit_key(a), limit_key(b));
        assert_eq!(limit_key(a), "2001:db8:1:2::/64");
        assert_eq!(limit_key("::ffff:1.2.3.4".parse().unwrap()), "1.2.3.4");
        assert_eq!(limit_key("1.2.3.4".parse().unwrap()), "1.2.3.4");
    }
}
