//! The optional IP allowlists: one for the audit surface (reads and admin), one for ingest.

use super::AppState;
use super::error::failure;
use crate::model::ErrorCode;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// Who may reach which routes; an empty list lets everyone through.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    /// The audit surface: every read, export, verify, metrics and admin route.
    pub audit: Vec<IpNet>,
    /// `POST /v1/events`, for producers.
    pub ingest: Vec<IpNet>,
}

/// A network as an operator writes it: a CIDR (`10.0.0.0/8`), or a bare address meaning that
/// one host (`/32` for IPv4, `/128` for IPv6).
pub fn parse_net(text: &str) -> Result<IpNet, NotANetwork> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| NotANetwork(text.chars().take(64).collect()))
}

/// What [`parse_net`] refused (its first 64 characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is neither an IP address nor a network in CIDR form (10.0.0.0/8, 2001:db8::/32)")]
pub struct NotANetwork(pub String);

/// Reads a list of networks from the config file, with [`parse_net`]'s rules.
pub fn deserialize_nets<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    let texts: Vec<String> = serde::Deserialize::deserialize(d)?;
    texts
        .iter()
        .map(|t| parse_net(t).map_err(serde::de::Error::custom))
        .collect()
}

fn allowed(list: &[IpNet], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    list.is_empty() || list.iter().any(|n| n.contains(&ip))
}

/// Middleware: answers 403 to an address outside the list that guards the route.
pub async fn check(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if path == "/healthz" {
        return next.run(req).await;
    }
    let ingest = req.method() == Method::POST && path == "/v1/events";
    let (list, what) = if ingest {
        (&state.allow.ingest, "ingest")
    } else {
        (&state.allow.audit, "the audit routes")
    };
    if allowed(list, peer.ip()) {
        return next.run(req).await;
    }
    tracing::warn!(peer = %peer.ip(), path, "refused by the allowlist");
    failure(
        ErrorCode::Forbidden,
        format!(
            "{} is not on the allowlist for {what}; ask the server's operator to add it",
            peer.ip()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_address_is_one_host() {
        assert_eq!(
            parse_net("203.0.113.7").unwrap().to_string(),
            "203.0.113.7/32"
        );
        assert_eq!(parse_net(" ::1 ").unwrap().to_string(), "::1/128");
        assert_eq!(parse_net("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        let err = parse_net("10.0.0.300").unwrap_err();
        assert!(
            err.to_string()
                .contains("neither an IP address nor a network"),
            "{err}"
        );
        let one = vec![parse_net("203.0.113.7").unwrap()];
        assert!(allowed(&one, "203.0.113.7".parse().unwrap()));
        assert!(!allowed(&one, "203.0.113.8".parse().unwrap()));
    }

    #[test]
    fn mapped_v6_matches_v4_nets() {
        let list: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert!(allowed(&list, "::ffff:10.1.2.3".parse().unwrap()));
        assert!(!allowed(&list, "192.0.2.1".parse().unwrap()));
        assert!(allowed(&[], "192.0.2.1".parse().unwrap()));
    }
}
