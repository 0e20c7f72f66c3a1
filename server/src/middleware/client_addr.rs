//! The client's address, decided once per request (`OOIEVAAR_TRUSTED_PROXIES`).
//!
//! Without trusted proxies the address is the TCP peer and `X-Forwarded-For` is ignored: anyone
//! can send that header, and believing it would let a caller pick the address the access log
//! records and the per-address limits count. When the peer is a listed proxy, the header is read
//! from the right (the hop the proxy itself appended) and the first address that is not a listed
//! proxy is the client.
//!
//! The result is the [`ClientAddr`] extension, and `ConnectInfo<SocketAddr>` is overwritten with
//! it, so every reader (server functions, the source API, the export, the flood counters) sees
//! the same address without knowing about proxies.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use backend::request::ClientAddr;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The request came through a trusted proxy (so its `X-Forwarded-Proto` may be believed).
#[derive(Debug, Clone, Copy)]
pub struct ViaTrustedProxy;

/// The listed proxies.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Arc<[IpNet]>);

impl TrustedProxies {
    pub fn new(list: &[IpNet]) -> Self {
        Self(list.iter().copied().collect())
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

pub async fn resolve(
    State(proxies): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .copied()
    {
        let via_proxy = proxies.contains(peer.ip());
        let client = if via_proxy {
            forwarded_client(peer.ip(), request.headers(), &proxies)
        } else {
            peer.ip().to_canonical()
        };
        let extensions = request.extensions_mut();
        extensions.insert(ClientAddr(client));
        if via_proxy {
            extensions.insert(ViaTrustedProxy);
        }
        if client != peer.ip() {
            let port = if via_proxy { 0 } else { peer.port() };
            extensions.insert(ConnectInfo(SocketAddr::new(client, port)));
        }
    }
    next.run(request).await
}

/// The client named by `X-Forwarded-For` of a request whose peer is a trusted proxy: the
/// rightmost hop that is not itself a trusted proxy. A hop that is not an address stops the
/// walk (the nearest trusted hop so far is the answer); all hops trusted gives the leftmost.
pub fn forwarded_client(peer: IpAddr, headers: &HeaderMap, proxies: &TrustedProxies) -> IpAddr {
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
        .collect();
    let mut client = peer.to_canonical();
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip;
        if !proxies.contains(ip) {
            break;
        }
    }
    client
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:5678`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &str) -> TrustedProxies {
        TrustedProxies::new(&crate::config::parse_trusted_proxies(list).unwrap())
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let p = proxies("10.0.0.0/8, 192.168.1.1");
        let peer = ip("10.0.0.2");
        // A spoofed first hop is ignored: the proxy appended the real one.
        assert_eq!(
            forwarded_client(peer, &xff(&["6.6.6.6, 203.0.113.7"]), &p),
            ip("203.0.113.7")
        );
        // Chained proxies are skipped.
        assert_eq!(
            forwarded_client(peer, &xff(&["203.0.113.7", "192.168.1.1, 10.1.2.3"]), &p),
            ip("203.0.113.7")
        );
        // Ports, brackets, IPv4-mapped IPv6.
        assert_eq!(
            forwarded_client(peer, &xff(&["[2001:db8::1]:443"]), &p),
            ip("2001:db8::1")
        );
        assert_eq!(
            forwarded_client(peer, &xff(&["::ffff:203.0.113.9"]), &p),
            ip("203.0.113.9")
        );
        // Garbage stops the walk at the nearest trusted hop; no header gives the peer.
        assert_eq!(
            forwarded_client(peer, &xff(&["203.0.113.7, junk, 10.9.9.9"]), &p),
            ip("10.9.9.9")
        );
        assert_eq!(forwarded_client(peer, &HeaderMap::new(), &p), peer);
    }

    #[test]
    fn lists_of_addresses_and_ranges_parse_and_bad_ones_are_refused() {
        let p = proxies(" 127.0.0.1 ,::1, 172.16.0.0/12 ");
        assert!(p.contains(ip("127.0.0.1")));
        assert!(p.contains(ip("::ffff:127.0.0.1")));
        assert!(p.contains(ip("::1")));
        assert!(p.contains(ip("172.31.255.255")));
        assert!(!p.contains(ip("172.32.0.1")));
        assert!(proxies("").0.is_empty());
        assert!(crate::config::parse_trusted_proxies("10.0.0.0/33").is_err());
        assert!(crate::config::parse_trusted_proxies("proxy.example.nl").is_err());
    }
}
