//! The go-plugin handshake Grafana expects from a backend plugin.
//!
//! Grafana starts the executable with `grafana_plugin_type=datasource` (its
//! magic cookie) and `PLUGIN_PROTOCOL_VERSIONS`, then reads the first line
//! of stdout: `CORE-VERSION|APP-VERSION|NETWORK|ADDR|PROTOCOL`. Nothing may
//! be printed to stdout before that line (logs go to stderr).

use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};
use tokio::net::TcpListener;

pub const MAGIC_COOKIE_KEY: &str = "grafana_plugin_type";
pub const MAGIC_COOKIE_VALUE: &str = "datasource";
/// go-plugin's own protocol version.
pub const CORE_PROTOCOL_VERSION: u32 = 1;
/// Grafana's plugin protocol version (gRPC `pluginv2`).
pub const PROTOCOL_VERSION: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error(
        "this is the backend of Grafana's vLLM datasource plugin ({id}); Grafana starts it, it is not \
         meant to be run by hand. Copy the plugin directory into Grafana's plugins folder instead",
        id = crate::dashboard::PLUGIN_ID
    )]
    NotStartedByGrafana,
    #[error("Grafana offers plugin protocol versions {0:?}, this plugin speaks version {PROTOCOL_VERSION} only: upgrade Grafana to 10.4 or later")]
    UnsupportedProtocol(String),
    #[error("cannot listen on the loopback interface: {0}")]
    Bind(io::Error),
    #[error("cannot write the handshake to stdout: {0}")]
    Stdout(io::Error),
}

/// Checks the environment Grafana sets, before anything else happens.
pub fn check_env(get: impl Fn(&str) -> Option<String>) -> Result<(), HandshakeError> {
    if get(MAGIC_COOKIE_KEY).as_deref() != Some(MAGIC_COOKIE_VALUE) {
        return Err(HandshakeError::NotStartedByGrafana);
    }
    if let Some(offered) = get("PLUGIN_PROTOCOL_VERSIONS") {
        let ours = PROTOCOL_VERSION.to_string();
        if !offered.split(',').any(|v| v.trim() == ours) {
            return Err(HandshakeError::UnsupportedProtocol(offered));
        }
    }
    Ok(())
}

/// Listens on loopback, in go-plugin's `PLUGIN_MIN_PORT..=PLUGIN_MAX_PORT`
/// range when Grafana sets one, else on any free port.
pub async fn bind(get: impl Fn(&str) -> Option<String>) -> Result<TcpListener, HandshakeError> {
    let port = |key: &str| get(key).and_then(|v| v.trim().parse::<u16>().ok());
    if let (Some(min), Some(max)) = (port("PLUGIN_MIN_PORT"), port("PLUGIN_MAX_PORT")) {
        for p in min..=max {
            if let Ok(listener) =
                TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, p))).await
            {
                return Ok(listener);
            }
        }
    }
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .map_err(HandshakeError::Bind)
}

/// The handshake line for a listening address.
pub fn line(addr: SocketAddr) -> String {
    format!("{CORE_PROTOCOL_VERSION}|{PROTOCOL_VERSION}|tcp|{addr}|grpc")
}

/// Writes the handshake line as the first output on stdout.
pub fn announce(addr: SocketAddr) -> Result<(), HandshakeError> {
    let mut out = io::stdout().lock();
    writeln!(out, "{}", line(addr))
        .and_then(|()| out.flush())
        .map_err(HandshakeError::Stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn requires_grafanas_cookie_and_protocol_2() {
        assert!(matches!(
            check_env(env(&[])),
            Err(HandshakeError::NotStartedByGrafana)
        ));
        assert!(check_env(env(&[("grafana_plugin_type", "datasource")])).is_ok());
        assert!(check_env(env(&[
            ("grafana_plugin_type", "datasource"),
            ("PLUGIN_PROTOCOL_VERSIONS", "1,2")
        ]))
        .is_ok());
        assert!(matches!(
            check_env(env(&[
                ("grafana_plugin_type", "datasource"),
                ("PLUGIN_PROTOCOL_VERSIONS", "1")
            ])),
            Err(HandshakeError::UnsupportedProtocol(_))
        ));
        assert_eq!(
            line(SocketAddr::from((Ipv4Addr::LOCALHOST, 1234))),
            "1|2|tcp|127.0.0.1:1234|grpc"
        );
    }
}
