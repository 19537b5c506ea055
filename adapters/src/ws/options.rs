//! How a WebSocket is set up: the URL, the client's request and the limits.

use std::sync::Arc;

use wirestate_core::http::ClientRequest;
use wirestate_core::ws::{Config, Connection};

use super::Error;

/// Default send high-water mark: `send` waits while more than this is queued unsent.
pub const DEFAULT_SEND_HIGH_WATER: usize = 256 * 1024;

/// A `ws://` or `wss://` URL taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// The host to connect to (without IPv6 brackets).
    pub host: String,
    /// The port (80 for `ws://`, 443 for `wss://` when the URL names none).
    pub port: u16,
    /// `wss://`: the connection runs over TLS.
    pub secure: bool,
    /// What the `Host` header says: the URL's authority.
    pub authority: String,
    /// The resource: path and query, at least `/`.
    pub resource: String,
}

impl WsUrl {
    /// Parses `ws[s]://host[:port][/path][?query]` (RFC 6455 §3); fragments are not
    /// allowed. Connecting to a `wss://` URL needs the `tls` feature.
    pub fn parse(url: &str) -> Result<WsUrl, Error> {
        let invalid = |why: &str| Error::InvalidUrl(format!("{why}: {url:?}"));
        let (secure, rest) = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("ws") => (false, rest),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("wss") => (true, rest),
            _ => return Err(invalid("not a ws:// or wss:// URL")),
        };
        if rest.contains('#') {
            return Err(invalid("a WebSocket URL has no fragment"));
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, resource) = rest.split_at(split);
        if authority.is_empty() || authority.contains('@') {
            return Err(invalid("a host is needed (and no user info)"));
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']').ok_or_else(|| invalid("unclosed ["))?;
                (host, after.strip_prefix(':'))
            }
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        let port = match port {
            Some(port) => port.parse().map_err(|_| invalid("bad port"))?,
            None if secure => 443,
            None => 80,
        };
        if host.is_empty() {
            return Err(invalid("empty host"));
        }
        let resource = match resource {
            "" => "/".to_string(),
            query if query.starts_with('?') => format!("/{query}"),
            path => path.to_string(),
        };
        Ok(WsUrl {
            host: host.to_string(),
            port,
            secure,
            authority: authority.to_string(),
            resource,
        })
    }
}

/// What a client asks for and how its connection behaves.
///
/// ```
/// use wirestate::ws::ClientOptions;
///
/// let options = ClientOptions::default()
///     .subprotocol("chat")
///     .header("Authorization", "Bearer token");
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Limits and timers of the connection.
    pub config: Config,
    /// `send` waits while more than this many bytes wait to be transmitted.
    pub send_high_water: usize,
    subprotocols: Vec<String>,
    headers: Vec<(String, Vec<u8>)>,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::ClientConfig>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            config: Config::default(),
            send_high_water: DEFAULT_SEND_HIGH_WATER,
            subprotocols: Vec::new(),
            headers: Vec::new(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ClientOptions {
    /// Offers a subprotocol (in order of preference).
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocols.push(protocol.into());
        self
    }

    /// Adds a header to the upgrade request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the connection's limits and timers.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets the send high-water mark.
    pub fn send_high_water(mut self, bytes: usize) -> Self {
        self.send_high_water = bytes;
        self
    }

    /// The TLS configuration for `wss://` URLs. Without one, `wss://` trusts the
    /// platform's roots. ALPN offers `http/1.1` unless the configuration names protocols.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: crate::tls::ClientConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// The client machine `connect_with` would run for `url`, under TLS for `wss://`, for
    /// an application that runs its own driver over its own transport and consumes the
    /// connection's events itself (a [`WebSocket`](super::WebSocket) takes them through
    /// its halves' queues, so its [`connection`](super::WebSocket::connection) is not the
    /// place to read events from).
    pub fn machine(&self, url: &str) -> Result<crate::wire::Wire<Connection>, Error> {
        super::handshake::client_machine(&WsUrl::parse(url)?, self, crate::os_rng())
    }

    /// The configuration a `wss://` connection uses: the one set, or the platform default
    /// (built once).
    #[cfg(feature = "tls")]
    pub(crate) fn tls_config(&self) -> Result<crate::tls::ClientConfig, Error> {
        match &self.tls {
            Some(config) => Ok(config.clone()),
            None => crate::tls::platform_client_config().map_err(Error::Tls),
        }
    }

    /// The upgrade request for `url`.
    pub(crate) fn request(&self, url: &WsUrl) -> ClientRequest {
        let mut request = ClientRequest::new(url.authority.clone(), url.resource.clone());
        for protocol in &self.subprotocols {
            request = request.subprotocol(protocol.clone());
        }
        for (name, value) in &self.headers {
            request = request.header(name.clone(), value.clone());
        }
        request
    }
}

/// How a server's connections behave.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Limits and timers of the connection, shared by every connection accepted with these
    /// options (and their clones) instead of copied into each.
    pub config: Arc<Config>,
    /// `send` waits while more than this many bytes wait to be transmitted.
    pub send_high_water: usize,
    /// Accept over TLS with this configuration (`wss://`).
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::ServerConfig>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            config: Arc::new(Config::default()),
            send_high_water: DEFAULT_SEND_HIGH_WATER,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ServerOptions {
    /// Accepts over TLS with `config` (`wss://`).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: crate::tls::ServerConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Sets the connection's limits and timers.
    pub fn config(mut self, config: Config) -> Self {
        self.config = Arc::new(config);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> (String, u16, String, String) {
        let url = WsUrl::parse(url).unwrap();
        (url.host, url.port, url.authority, url.resource)
    }

    #[test]
    fn urls_parse_per_rfc_6455() {
        let s = String::from;
        assert_eq!(
            parse("ws://example.com"),
            (s("example.com"), 80, s("example.com"), s("/"))
        );
        assert_eq!(
            parse("WS://127.0.0.1:9001/runCase?case=1&agent=x"),
            (
                s("127.0.0.1"),
                9001,
                s("127.0.0.1:9001"),
                s("/runCase?case=1&agent=x")
            )
        );
        assert_eq!(
            parse("ws://[::1]:8080?x=1"),
            (s("::1"), 8080, s("[::1]:8080"), s("/?x=1"))
        );
        for bad in [
            "http://x/",
            "ws://x/#frag",
            "ws://",
            "ws://:80/",
            "ws://x:port/",
            "ws://[::1/",
            "ws://user@x/",
            "x",
        ] {
            assert!(
                matches!(WsUrl::parse(bad), Err(Error::InvalidUrl(_))),
                "{bad}"
            );
        }
    }
}
