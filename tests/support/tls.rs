//! TLS for loopback test servers, with the test-only material in
//! `tests/fixtures/tls/` (see its README).

use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The CA that signed [`SERVER_PEM`].
pub const CA_PEM: &str = include_str!("../fixtures/tls/ca.pem");
/// A server certificate for 127.0.0.1 and localhost.
pub const SERVER_PEM: &str = include_str!("../fixtures/tls/server.pem");
pub const SERVER_KEY: &str = include_str!("../fixtures/tls/server.key");
/// Path of [`CA_PEM`], for programs that read it from a file.
pub const CA_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls/ca.pem");

/// An acceptor presenting [`SERVER_PEM`], demanding a client certificate
/// signed by `client_ca` when one is given.
pub fn acceptor(client_ca: Option<&str>) -> Result<tokio_rustls::TlsAcceptor, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(SERVER_PEM.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("server certificate: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes())
        .map_err(|e| format!("server key: {e}"))?;
    let builder = rustls::ServerConfig::builder();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| format!("client CA: {e}"))?;
                roots.add(cert).map_err(|e| format!("client CA: {e}"))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .map_err(|e| format!("client verifier: {e}"))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS config: {e}"))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
