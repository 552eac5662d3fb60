//! TLS material for the binary: a CA and a leaf certificate made with rcgen at start-up, the
//! rustls server config, and a kubeconfig that kubectl, kube-rs and the Python client accept.
//!
//! It never writes the CA key anywhere and never logs key material.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::sync::Arc;

/// A CA certificate and a server (leaf) certificate + key, PEM encoded.
#[derive(Clone)]
pub struct TlsMaterial {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca_pem", &"<certificate>")
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// Why TLS material could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("generating certificate: {0}")]
    Generate(#[source] rcgen::Error),
    #[error("building rustls server config: {0}")]
    Config(String),
}

/// Makes a fresh CA and a leaf for `hosts` (IP addresses become IP SANs, the rest DNS SANs).
pub fn generate(hosts: &[&str]) -> Result<TlsMaterial, TlsError> {
    let g = TlsError::Generate;
    let ca_key = KeyPair::generate().map_err(g)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(g)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "fake-apiserver-ca");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(g)?;
    let issuer = rcgen::Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().map_err(g)?;
    let mut leaf = CertificateParams::new(Vec::<String>::new()).map_err(g)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "fake-apiserver");
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    for h in hosts {
        match h.parse::<std::net::IpAddr>() {
            Ok(ip) => leaf.subject_alt_names.push(SanType::IpAddress(ip)),
            Err(_) => leaf
                .subject_alt_names
                .push(SanType::DnsName((*h).try_into().map_err(g)?)),
        }
    }
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(g)?;
    Ok(TlsMaterial {
        ca_pem: ca_cert.pem(),
        cert_pem: leaf_cert.pem(),
        key_pem: leaf_key.serialize_pem(),
    })
}

/// A rustls server config (h2 and http/1.1) for the material.
pub fn server_config(m: &TlsMaterial) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let c = |e: String| TlsError::Config(e);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(m.cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| c(format!("certificate: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(m.key_pem.as_bytes())
        .map_err(|_| c("private key could not be parsed".into()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| c(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| c(e.to_string()))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// A kubeconfig with one cluster/user/context named `fake`. An empty `ca_pem` writes no CA data
/// (for a plain-http server).
pub fn kubeconfig(server_url: &str, ca_pem: &str, token: &str, namespace: &str) -> String {
    use base64::Engine;
    let ca = if ca_pem.is_empty() {
        String::new()
    } else {
        format!(
            "    certificate-authority-data: {}\n",
            base64::engine::general_purpose::STANDARD.encode(ca_pem)
        )
    };
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {server_url}\n{ca}users:\n- name: fake\n  user:\n    token: {token}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: {namespace}\ncurrent-context: fake\npreferences: {{}}\n"
    )
}
