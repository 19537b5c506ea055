//! Certificates made in the test: a certificate authority, a server certificate for
//! `localhost` and `127.0.0.1` signed by it, a client certificate signed by it, and a second,
//! unrelated authority that nobody trusts.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use wirestate::tls::{ClientConfig, Identity, ServerConfig};

/// One test's public-key infrastructure, as PEM text.
pub struct Pki {
    /// The trusted authority's certificate.
    pub ca: String,
    /// The server's certificate (for `localhost` and `127.0.0.1`) and key.
    pub server: (String, String),
    /// A client certificate and key, signed by the trusted authority.
    pub client: (String, String),
    /// A server certificate for `localhost` from an authority nobody trusts, and its key.
    pub stranger: (String, String),
    /// A server certificate from the trusted authority, for another name only.
    pub elsewhere: (String, String),
}

fn authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA")
}

fn leaf(issuer: &CertifiedIssuer<'static, KeyPair>, names: &[&str]) -> (String, String) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let params = CertificateParams::new(names).expect("leaf params");
    let key = KeyPair::generate().expect("leaf key");
    let cert = params.signed_by(&key, issuer).expect("leaf");
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    /// A fresh set.
    pub fn new() -> Pki {
        let ca = authority("wirestate test CA");
        let stranger_ca = authority("untrusted CA");
        Pki {
            ca: ca.pem(),
            server: leaf(&ca, &["localhost", "127.0.0.1"]),
            client: leaf(&ca, &["client.test"]),
            stranger: leaf(&stranger_ca, &["localhost", "127.0.0.1"]),
            elsewhere: leaf(&ca, &["elsewhere.test"]),
        }
    }

    /// A client configuration that trusts only the test authority.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig::builder()
            .root_certificates_pem(self.ca.as_bytes())
            .expect("CA PEM")
            .build()
            .expect("client config")
    }

    /// A server configuration presenting the server certificate.
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig::builder(self.server_identity())
            .build()
            .expect("server config")
    }

    /// The server's identity.
    pub fn server_identity(&self) -> Identity {
        Identity::from_pem(self.server.0.as_bytes(), self.server.1.as_bytes()).expect("server")
    }

    /// The client's identity.
    pub fn client_identity(&self) -> Identity {
        Identity::from_pem(self.client.0.as_bytes(), self.client.1.as_bytes()).expect("client")
    }

    /// A server configuration presenting the untrusted certificate.
    pub fn stranger_config(&self) -> ServerConfig {
        server_config(&self.stranger)
    }

    /// A server configuration presenting a trusted certificate for another name.
    pub fn elsewhere_config(&self) -> ServerConfig {
        server_config(&self.elsewhere)
    }

    /// A server configuration that requires a client certificate from the test authority.
    pub fn mutual_server_config(&self) -> ServerConfig {
        ServerConfig::builder(self.server_identity())
            .client_auth_roots_pem(self.ca.as_bytes())
            .expect("CA PEM")
            .build()
            .expect("server config")
    }

    /// A client configuration that trusts the test authority and presents the client
    /// certificate.
    pub fn mutual_client_config(&self) -> ClientConfig {
        ClientConfig::builder()
            .root_certificates_pem(self.ca.as_bytes())
            .expect("CA PEM")
            .client_identity(self.client_identity())
            .build()
            .expect("client config")
    }
}

fn server_config((cert, key): &(String, String)) -> ServerConfig {
    let identity = Identity::from_pem(cert.as_bytes(), key.as_bytes()).expect("identity");
    ServerConfig::builder(identity)
        .build()
        .expect("server config")
}

impl Default for Pki {
    fn default() -> Self {
        Pki::new()
    }
}
