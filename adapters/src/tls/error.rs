//! Why a TLS connection failed, in terms a user can act on.

use std::fmt;
use std::time::Duration;

/// A TLS failure: a certificate the other side refused, a handshake that did not finish, or
/// a configuration that cannot work.
///
/// Verification failures are split by cause, because each has a different fix: an unknown
/// issuer needs the right root, a name mismatch needs the right host name, an expired
/// certificate needs renewing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsError {
    /// The peer's certificate does not chain to a trusted root.
    UnknownIssuer,
    /// The peer's certificate is valid, but not for the name that was asked for.
    NameMismatch,
    /// The peer's certificate has expired or is not valid yet.
    Expired,
    /// The peer's certificate was refused for another reason (bad encoding, bad signature,
    /// revoked, unsupported algorithm, wrong purpose); the text says which.
    BadCertificate(String),
    /// The peer presented no certificate where one is required (a client without a
    /// certificate on a server that requires one).
    NoCertificate,
    /// The peer ended the session with a fatal TLS alert: during the handshake, it did not
    /// accept our certificate or found no protocol version, cipher suite or ALPN protocol in
    /// common.
    Alert(String),
    /// No ALPN protocol in common with the peer.
    NoApplicationProtocol,
    /// The handshake did not finish in time.
    HandshakeTimeout(Duration),
    /// The transport closed before the handshake finished.
    ClosedDuringHandshake,
    /// The peer broke the TLS protocol (undecryptable record, unexpected message).
    Protocol(String),
    /// The configuration cannot work: a bad certificate or key file, an invalid server name.
    Config(String),
}

impl TlsError {
    /// Whether the failure is about the peer's certificate (issuer, name, validity).
    pub fn is_certificate_error(&self) -> bool {
        matches!(
            self,
            TlsError::UnknownIssuer
                | TlsError::NameMismatch
                | TlsError::Expired
                | TlsError::BadCertificate(_)
                | TlsError::NoCertificate
        )
    }
}

impl From<rustls::Error> for TlsError {
    fn from(error: rustls::Error) -> Self {
        use rustls::CertificateError as Cert;
        match error {
            rustls::Error::InvalidCertificate(cert) => match cert {
                Cert::UnknownIssuer => TlsError::UnknownIssuer,
                Cert::NotValidForName | Cert::NotValidForNameContext { .. } => {
                    TlsError::NameMismatch
                }
                Cert::Expired
                | Cert::ExpiredContext { .. }
                | Cert::NotValidYet
                | Cert::NotValidYetContext { .. } => TlsError::Expired,
                other => TlsError::BadCertificate(format!("{other:?}")),
            },
            rustls::Error::NoCertificatesPresented => TlsError::NoCertificate,
            rustls::Error::AlertReceived(alert) => TlsError::Alert(format!("{alert:?}")),
            rustls::Error::NoApplicationProtocol => TlsError::NoApplicationProtocol,
            other => TlsError::Protocol(other.to_string()),
        }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::UnknownIssuer => {
                f.write_str("TLS: the peer's certificate is signed by an unknown issuer")
            }
            TlsError::NameMismatch => {
                f.write_str("TLS: the peer's certificate is not valid for the server name")
            }
            TlsError::Expired => {
                f.write_str("TLS: the peer's certificate has expired or is not yet valid")
            }
            TlsError::BadCertificate(why) => write!(f, "TLS: bad peer certificate: {why}"),
            TlsError::NoCertificate => f.write_str("TLS: the peer presented no certificate"),
            TlsError::Alert(alert) => write!(f, "TLS: the peer sent a fatal alert: {alert}"),
            TlsError::NoApplicationProtocol => {
                f.write_str("TLS: no ALPN protocol in common with the peer")
            }
            TlsError::HandshakeTimeout(after) => {
                write!(f, "TLS: the handshake did not finish within {after:?}")
            }
            TlsError::ClosedDuringHandshake => {
                f.write_str("TLS: the connection closed during the handshake")
            }
            TlsError::Protocol(why) => write!(f, "TLS protocol error: {why}"),
            TlsError::Config(why) => write!(f, "TLS configuration: {why}"),
        }
    }
}

impl std::error::Error for TlsError {}

impl From<TlsError> for std::io::Error {
    fn from(error: TlsError) -> Self {
        let kind = match error {
            TlsError::HandshakeTimeout(_) => std::io::ErrorKind::TimedOut,
            TlsError::ClosedDuringHandshake => std::io::ErrorKind::UnexpectedEof,
            TlsError::Config(_) => std::io::ErrorKind::InvalidInput,
            _ => std::io::ErrorKind::InvalidData,
        };
        std::io::Error::new(kind, error)
    }
}
