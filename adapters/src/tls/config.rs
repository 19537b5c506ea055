//! TLS settings: who to trust, who we are, which application protocol.
//!
//! Both configurations are cheap to clone and meant to be built once and shared by every
//! connection. Certificate verification is always on: the builders have no switch to turn
//! it off. A test that needs to trust its own certificate adds it as a root; anything more
//! unusual goes through [`ClientConfig::from_rustls`], where rustls's own `dangerous()` API
//! is needed, so it cannot happen by accident.

use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::TlsError;
use super::layer::TlsLayer;

/// How long a TLS handshake may take unless configured otherwise.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The ALPN name of HTTP/1.1, which WebSocket upgrades are (RFC 7301).
pub const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_error(what: &str, error: impl std::fmt::Display) -> TlsError {
    TlsError::Config(format!("{what}: {error}"))
}

/// Certificates from PEM text (every `CERTIFICATE` block, in order).
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| config_error("reading PEM certificates", e))?;
    if certs.is_empty() {
        return Err(TlsError::Config("no certificate in the PEM text".into()));
    }
    Ok(certs)
}

/// A certificate chain and its private key: what a server (or a client, for client
/// authentication) proves itself with.
#[derive(Debug)]
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Identity {
    /// From PEM text: the certificate chain, leaf first, and the private key (PKCS#8,
    /// PKCS#1 or SEC1).
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<Identity, TlsError> {
        Ok(Identity {
            chain: certificates_from_pem(chain)?,
            key: PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| config_error("reading the PEM private key", e))?,
        })
    }

    /// From DER: the certificate chain, leaf first, and the private key.
    pub fn from_der(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Self {
        Identity { chain, key }
    }
}

/// Which certificate authorities a side trusts.
#[derive(Debug, Clone, Default)]
enum Roots {
    /// The operating system's store (loaded when the configuration is built).
    #[default]
    Platform,
    /// Only the given certificates.
    Given(Vec<CertificateDer<'static>>),
}

impl Roots {
    fn add(&mut self, certs: impl IntoIterator<Item = CertificateDer<'static>>) {
        match self {
            Roots::Given(given) => given.extend(certs),
            Roots::Platform => *self = Roots::Given(certs.into_iter().collect()),
        }
    }

    fn store(&self) -> Result<RootCertStore, TlsError> {
        let mut store = RootCertStore::empty();
        match self {
            Roots::Platform => {
                let found = rustls_native_certs::load_native_certs();
                let (added, _unparsable) = store.add_parsable_certificates(found.certs);
                if added == 0 {
                    return Err(TlsError::Config(format!(
                        "no usable root certificate in the platform store ({} errors)",
                        found.errors.len()
                    )));
                }
            }
            Roots::Given(certs) => {
                for cert in certs {
                    store
                        .add(cert.clone())
                        .map_err(|e| config_error("adding a root certificate", e))?;
                }
            }
        }
        Ok(store)
    }
}

/// The client's TLS settings (Ktor's `TLSConfig`): roots, an optional client certificate,
/// ALPN protocols and the handshake timeout.
///
/// ```no_run
/// use wirestate::tls::ClientConfig;
///
/// // The platform's roots; ALPN as a WebSocket client would offer it.
/// let config = ClientConfig::builder().alpn([b"http/1.1".to_vec()]).build()?;
/// # let _ = config;
/// # Ok::<(), wirestate::tls::TlsError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientConfig {
    rustls: Arc<rustls::ClientConfig>,
    handshake_timeout: Duration,
}

impl ClientConfig {
    /// Starts a configuration: platform roots, no client certificate, no ALPN.
    pub fn builder() -> ClientConfigBuilder {
        ClientConfigBuilder::default()
    }

    /// Wraps a rustls configuration as it is (its roots, verifier, ALPN and provider).
    pub fn from_rustls(config: Arc<rustls::ClientConfig>) -> Self {
        ClientConfig {
            rustls: config,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// The same configuration with another handshake timeout.
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The rustls configuration underneath.
    pub fn rustls(&self) -> &Arc<rustls::ClientConfig> {
        &self.rustls
    }

    /// The same configuration offering `protocols` by ALPN if it offers none yet (WebSocket
    /// passes `http/1.1`); a configuration with ALPN protocols is left as it is.
    pub(crate) fn with_default_alpn(&self, protocols: &[&[u8]]) -> ClientConfig {
        if !self.rustls.alpn_protocols.is_empty() {
            return self.clone();
        }
        let mut rustls = (*self.rustls).clone();
        rustls.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
        ClientConfig {
            rustls: Arc::new(rustls),
            handshake_timeout: self.handshake_timeout,
        }
    }

    /// A client session for `server_name`: a DNS name or an IP address, checked against
    /// the server's certificate.
    pub(crate) fn start(&self, server_name: &str) -> Result<TlsLayer, TlsError> {
        let name = ServerName::try_from(server_name.to_string())
            .map_err(|e| config_error("invalid server name", e))?;
        let conn = rustls::ClientConnection::new(self.rustls.clone(), name)
            .map_err(|e| config_error("starting the client", e))?;
        Ok(TlsLayer::new(conn.into(), self.handshake_timeout))
    }
}

/// The client configuration `wss://` and the other TLS clients use when given none: the
/// platform's roots, built once per process.
pub(crate) fn platform_client_config() -> Result<ClientConfig, TlsError> {
    static PLATFORM: std::sync::OnceLock<Result<ClientConfig, TlsError>> =
        std::sync::OnceLock::new();
    PLATFORM
        .get_or_init(|| ClientConfig::builder().build())
        .clone()
}

/// Builds a [`ClientConfig`].
#[derive(Debug, Default)]
pub struct ClientConfigBuilder {
    roots: Roots,
    identity: Option<Identity>,
    alpn: Vec<Vec<u8>>,
    handshake_timeout: Option<Duration>,
}

impl ClientConfigBuilder {
    /// Trusts this root certificate (DER) instead of the platform's store; call again to
    /// add more.
    pub fn root_certificate(mut self, der: CertificateDer<'static>) -> Self {
        self.roots.add([der]);
        self
    }

    /// Trusts the root certificates in this PEM text instead of the platform's store.
    pub fn root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, TlsError> {
        self.roots.add(certificates_from_pem(pem)?);
        Ok(self)
    }

    /// Presents this certificate when the server asks for one (client authentication).
    pub fn client_identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// Offers these application protocols by ALPN, in order of preference.
    pub fn alpn<P: Into<Vec<u8>>>(mut self, protocols: impl IntoIterator<Item = P>) -> Self {
        self.alpn = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// How long the handshake may take ([`DEFAULT_HANDSHAKE_TIMEOUT`] unless set).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = Some(timeout);
        self
    }

    /// The configuration; fails on unusable roots or an unusable identity.
    pub fn build(self) -> Result<ClientConfig, TlsError> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| config_error("protocol versions", e))?
            .with_root_certificates(self.roots.store()?);
        let mut config = match self.identity {
            Some(identity) => builder
                .with_client_auth_cert(identity.chain, identity.key)
                .map_err(|e| config_error("the client certificate", e))?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn;
        Ok(ClientConfig {
            rustls: Arc::new(config),
            handshake_timeout: self.handshake_timeout.unwrap_or(DEFAULT_HANDSHAKE_TIMEOUT),
        })
    }
}

/// The server's TLS settings: its identity, optional client authentication, ALPN protocols
/// and the handshake timeout.
///
/// ```no_run
/// use wirestate::tls::{Identity, ServerConfig};
///
/// let identity = Identity::from_pem(
///     &std::fs::read("cert.pem").unwrap(),
///     &std::fs::read("key.pem").unwrap(),
/// )?;
/// let config = ServerConfig::builder(identity).build()?;
/// # let _ = config;
/// # Ok::<(), wirestate::tls::TlsError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    rustls: Arc<rustls::ServerConfig>,
    handshake_timeout: Duration,
}

impl ServerConfig {
    /// Starts a configuration that presents `identity` and asks no client certificate.
    pub fn builder(identity: Identity) -> ServerConfigBuilder {
        ServerConfigBuilder {
            identity,
            client_roots: None,
            client_auth_optional: false,
            alpn: Vec::new(),
            handshake_timeout: None,
        }
    }

    /// Wraps a rustls configuration as it is.
    pub fn from_rustls(config: Arc<rustls::ServerConfig>) -> Self {
        ServerConfig {
            rustls: config,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// The same configuration with another handshake timeout.
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The rustls configuration underneath.
    pub fn rustls(&self) -> &Arc<rustls::ServerConfig> {
        &self.rustls
    }

    /// A server session.
    pub(crate) fn start(&self) -> Result<TlsLayer, TlsError> {
        let conn = rustls::ServerConnection::new(self.rustls.clone())
            .map_err(|e| config_error("starting the server", e))?;
        Ok(TlsLayer::new(conn.into(), self.handshake_timeout))
    }
}

/// Builds a [`ServerConfig`].
#[derive(Debug)]
pub struct ServerConfigBuilder {
    identity: Identity,
    client_roots: Option<Roots>,
    client_auth_optional: bool,
    alpn: Vec<Vec<u8>>,
    handshake_timeout: Option<Duration>,
}

impl ServerConfigBuilder {
    /// Requires clients to present a certificate that chains to one of these roots (PEM).
    pub fn client_auth_roots_pem(mut self, pem: &[u8]) -> Result<Self, TlsError> {
        self.client_roots
            .get_or_insert(Roots::Given(Vec::new()))
            .add(certificates_from_pem(pem)?);
        Ok(self)
    }

    /// Requires clients to present a certificate that chains to this root (DER).
    pub fn client_auth_root(mut self, der: CertificateDer<'static>) -> Self {
        self.client_roots
            .get_or_insert(Roots::Given(Vec::new()))
            .add([der]);
        self
    }

    /// Lets clients without a certificate in too (those with one are still verified).
    pub fn client_auth_optional(mut self) -> Self {
        self.client_auth_optional = true;
        self
    }

    /// Accepts these application protocols by ALPN, in order of preference.
    pub fn alpn<P: Into<Vec<u8>>>(mut self, protocols: impl IntoIterator<Item = P>) -> Self {
        self.alpn = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// How long the handshake may take ([`DEFAULT_HANDSHAKE_TIMEOUT`] unless set).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = Some(timeout);
        self
    }

    /// The configuration; fails on an unusable identity or client roots.
    pub fn build(self) -> Result<ServerConfig, TlsError> {
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| config_error("protocol versions", e))?;
        let builder = match &self.client_roots {
            None => builder.with_no_client_auth(),
            Some(roots) => {
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots.store()?),
                    provider(),
                );
                let verifier = if self.client_auth_optional {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                let verifier = verifier
                    .build()
                    .map_err(|e| config_error("the client verifier", e))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder
            .with_single_cert(self.identity.chain, self.identity.key)
            .map_err(|e| config_error("the server certificate", e))?;
        config.alpn_protocols = self.alpn;
        Ok(ServerConfig {
            rustls: Arc::new(config),
            handshake_timeout: self.handshake_timeout.unwrap_or(DEFAULT_HANDSHAKE_TIMEOUT),
        })
    }
}
