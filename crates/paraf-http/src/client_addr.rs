//! The address a request came from, which login throttling counts by.
//!
//! The server in front of the router decides it and puts it in the request extensions as
//! [`ClientAddr`]: `paraf serve` from the TCP peer (and from `X-Forwarded-For` only when
//! the peer is a proxy the operator named trusted, see [`with_client_addr`]); the Lambda
//! entry from API Gateway's `requestContext.http.sourceIp`. No header a client sends is
//! believed by default. Without either, axum's `ConnectInfo<SocketAddr>` is used, and
//! failing that the address is unknown (`None`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use ipnet::IpNet;

/// The client's address as the server in front of the router established it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Extractor: the client's address, if known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    pub fn of(parts: &Parts) -> ClientIp {
        if let Some(ClientAddr(ip)) = parts.extensions.get::<ClientAddr>() {
            return ClientIp(Some(*ip));
        }
        ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip()),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp::of(parts))
    }
}

/// The client behind a chain of proxies: the TCP `peer` unless it is trusted, else the
/// right-most `X-Forwarded-For` address that is not a trusted proxy (entries to its left
/// were written by the client and prove nothing).
pub fn forwarded_client(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().parse::<IpAddr>())
        .collect::<Result<_, _>>()
        // A list we cannot read entirely cannot be trusted in part either.
        .unwrap_or_default();
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

/// Sets [`ClientAddr`] from the connection's `ConnectInfo<SocketAddr>` and, for peers in
/// `trusted`, from `X-Forwarded-For` (see [`forwarded_client`]).
pub fn with_client_addr(router: Router, trusted: Vec<IpNet>) -> Router {
    let trusted = Arc::new(trusted);
    router.layer(axum::middleware::from_fn(
        move |mut req: Request, next: Next| {
            let trusted = trusted.clone();
            async move {
                let peer = req
                    .extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|ConnectInfo(p)| p.ip());
                if let Some(peer) = peer {
                    let ip = forwarded_client(peer, req.headers(), &trusted);
                    req.extensions_mut().insert(ClientAddr(ip));
                }
                next.run(req).await as Response
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn a_forwarded_for_header_from_an_untrusted_peer_is_ignored() {
        let got = forwarded_client(ip("203.0.113.9"), &xff("198.51.100.1"), &[]);
        assert_eq!(got, ip("203.0.113.9"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let trusted: Vec<IpNet> = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        // The client wrote the first entry itself; the proxies appended the rest.
        let h = xff("1.2.3.4, 198.51.100.7, 10.0.0.5");
        assert_eq!(
            forwarded_client(ip("127.0.0.1"), &h, &trusted),
            ip("198.51.100.7")
        );
        // Without a usable header the proxy itself is all we know.
        assert_eq!(
            forwarded_client(ip("127.0.0.1"), &xff("not-an-address"), &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(
            forwarded_client(ip("127.0.0.1"), &HeaderMap::new(), &trusted),
            ip("127.0.0.1")
        );
    }
}
