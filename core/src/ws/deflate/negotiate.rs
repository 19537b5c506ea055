//! Negotiating permessage-deflate (RFC 7692 §5, §7.1): the client's offer, the server's
//! choice among offers and its response, and the client's check of that response.

use alloc::vec::Vec;

use super::DeflateConfig;
use crate::http::Extension;

/// The extension's name.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// What both ends agreed on, from one end's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// Our compressor starts afresh for every message.
    pub local_no_context_takeover: bool,
    /// The peer's compressor starts afresh for every message: so may our decompressor.
    pub remote_no_context_takeover: bool,
    /// The largest window our compressor may use (8..=15).
    pub local_max_window_bits: u8,
    /// The largest window the peer's compressor uses (8..=15).
    pub remote_max_window_bits: u8,
}

/// The parameters of one permessage-deflate element, checked per RFC 7692 §7.1: known
/// names, each at most once, values where they belong.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: the parameter without a value (allowed in an offer only).
    client_max_window_bits: Option<Option<u8>>,
}

impl Params {
    fn parse(extension: &Extension) -> Option<Params> {
        let mut params = Params::default();
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in extension.params() {
            if seen.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                return None; // each parameter at most once
            }
            seen.push(name);
            match name.to_ascii_lowercase().as_str() {
                SERVER_NO_CONTEXT_TAKEOVER if value.is_none() => {
                    params.server_no_context_takeover = true;
                }
                CLIENT_NO_CONTEXT_TAKEOVER if value.is_none() => {
                    params.client_no_context_takeover = true;
                }
                SERVER_MAX_WINDOW_BITS => {
                    params.server_max_window_bits = Some(window_bits(value?)?);
                }
                CLIENT_MAX_WINDOW_BITS => {
                    params.client_max_window_bits = Some(match value {
                        Some(value) => Some(window_bits(value)?),
                        None => None,
                    });
                }
                _ => return None,
            }
        }
        Some(params)
    }
}

/// A window-bits value: 8 to 15 in decimal, without leading zeros (RFC 7692 §7.1.2).
fn window_bits(value: &str) -> Option<u8> {
    if value.starts_with('0') || value.len() > 2 {
        return None;
    }
    value.parse().ok().filter(|bits| (8..=15).contains(bits))
}

/// The client's offer for `config`.
pub fn client_offer(config: &DeflateConfig) -> Extension {
    let mut offer = Extension::new(PERMESSAGE_DEFLATE);
    if config.server_no_context_takeover {
        offer = offer.with_param(SERVER_NO_CONTEXT_TAKEOVER);
    }
    if config.client_no_context_takeover {
        offer = offer.with_param(CLIENT_NO_CONTEXT_TAKEOVER);
    }
    if config.server_max_window_bits < 15 {
        offer = offer.with_param_value(
            SERVER_MAX_WINDOW_BITS,
            alloc::format!("{}", config.server_max_window_bits),
        );
    }
    // Valueless: the server may then limit our window (we can compress with any window).
    offer = match config.client_max_window_bits {
        15 => offer.with_param(CLIENT_MAX_WINDOW_BITS),
        bits => offer.with_param_value(CLIENT_MAX_WINDOW_BITS, alloc::format!("{bits}")),
    };
    offer
}

/// The server's choice: the first acceptable permessage-deflate offer among `offers`, its
/// response element, and what was agreed. Offers with invalid parameters are declined
/// (RFC 7692 §5.1), as are offers that would make us compress with an 8-bit window when
/// `config` does not allow sending uncompressed (it always does: see [`Negotiated`]).
pub fn server_accept(
    config: &DeflateConfig,
    offers: &[Extension],
) -> Option<(Extension, Negotiated)> {
    offers
        .iter()
        .filter(|offer| offer.is_named(PERMESSAGE_DEFLATE))
        .find_map(|offer| {
            let params = Params::parse(offer)?;
            Some(server_response(config, &params))
        })
}

fn server_response(config: &DeflateConfig, offer: &Params) -> (Extension, Negotiated) {
    let mut response = Extension::new(PERMESSAGE_DEFLATE);
    let server_no_context_takeover =
        offer.server_no_context_takeover || config.server_no_context_takeover;
    if server_no_context_takeover {
        response = response.with_param(SERVER_NO_CONTEXT_TAKEOVER);
    }
    let client_no_context_takeover =
        offer.client_no_context_takeover || config.client_no_context_takeover;
    if client_no_context_takeover {
        response = response.with_param(CLIENT_NO_CONTEXT_TAKEOVER);
    }
    // Our window: what the client allows, within our own limit.
    let server_bits = offer
        .server_max_window_bits
        .unwrap_or(15)
        .min(config.server_max_window_bits);
    // Included when below 15, or when the client asked (RFC 7692 §7.1.2.1).
    if server_bits < 15 || offer.server_max_window_bits.is_some() {
        response =
            response.with_param_value(SERVER_MAX_WINDOW_BITS, alloc::format!("{server_bits}"));
    }
    // The client's window: only limited if it said it can be (RFC 7692 §7.1.2.2).
    let client_bits = match offer.client_max_window_bits {
        None => 15,
        Some(offered) => offered.unwrap_or(15).min(config.client_max_window_bits),
    };
    if offer.client_max_window_bits.is_some() && client_bits < 15 {
        response =
            response.with_param_value(CLIENT_MAX_WINDOW_BITS, alloc::format!("{client_bits}"));
    }
    let negotiated = Negotiated {
        local_no_context_takeover: server_no_context_takeover,
        remote_no_context_takeover: client_no_context_takeover,
        local_max_window_bits: server_bits,
        remote_max_window_bits: client_bits,
    };
    (response, negotiated)
}

/// Why a client refuses the server's permessage-deflate response (it fails the
/// connection, RFC 7692 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseError {
    /// Unknown or repeated parameters, or a bad value.
    InvalidParams,
    /// A window larger than the offer allowed.
    WindowTooLarge,
    /// The extension appears more than once in the response.
    Repeated,
    /// A parameter the offer asked for is missing (`server_no_context_takeover`, or
    /// `server_max_window_bits`), though RFC 7692 §7.1 says an accepting server includes it.
    Missing,
}

/// The client's check of the server's response to [`client_offer`]`(config)`; `Ok(None)`
/// if the server declined (no permessage-deflate in `accepted`).
pub fn client_verify(
    config: &DeflateConfig,
    accepted: &[Extension],
) -> Result<Option<Negotiated>, ResponseError> {
    let mut chosen = accepted.iter().filter(|e| e.is_named(PERMESSAGE_DEFLATE));
    let Some(response) = chosen.next() else {
        return Ok(None);
    };
    if chosen.next().is_some() {
        return Err(ResponseError::Repeated);
    }
    let params = Params::parse(response).ok_or(ResponseError::InvalidParams)?;
    let asked_window = config.server_max_window_bits < 15;
    if (config.server_no_context_takeover && !params.server_no_context_takeover)
        || (asked_window && params.server_max_window_bits.is_none())
    {
        return Err(ResponseError::Missing);
    }
    let server_bits = params.server_max_window_bits.unwrap_or(15);
    if server_bits > config.server_max_window_bits {
        return Err(ResponseError::WindowTooLarge);
    }
    let client_bits = match params.client_max_window_bits {
        None => 15,
        Some(None) => return Err(ResponseError::InvalidParams), // a value is required here
        Some(Some(bits)) if bits > config.client_max_window_bits => {
            return Err(ResponseError::WindowTooLarge);
        }
        Some(Some(bits)) => bits,
    };
    Ok(Some(Negotiated {
        local_no_context_takeover: params.client_no_context_takeover
            || config.client_no_context_takeover,
        remote_no_context_takeover: params.server_no_context_takeover,
        local_max_window_bits: client_bits.min(config.client_max_window_bits),
        remote_max_window_bits: server_bits,
    }))
}
