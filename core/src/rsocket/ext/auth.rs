//! Authentication metadata (`message/x.rsocket.authentication.v0`): a type (well-known id,
//! or `length - 1` and an ASCII name) followed by its payload. `simple` carries a 16-bit
//! username length, the username and the password; `bearer` carries the token.

use alloc::string::String;
use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::ExtError;

/// Authentication metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// Well-known type 0x00: username and password.
    Simple {
        /// The username (at most 65535 bytes of UTF-8).
        username: String,
        /// The password.
        password: Bytes,
    },
    /// Well-known type 0x01: a bearer token (UTF-8).
    Bearer(String),
    /// Any other type, kept raw.
    Other {
        /// The type: a well-known id other than 0 and 1, or a custom name.
        kind: AuthType,
        /// The payload.
        payload: Bytes,
    },
}

/// An authentication type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthType {
    /// A well-known id (7 bits).
    WellKnown(u8),
    /// A custom name (1 to 128 ASCII bytes).
    Custom(String),
}

impl Auth {
    /// The encoded metadata.
    pub fn encode(&self) -> Result<Bytes, ExtError> {
        let mut out = BytesMut::new();
        match self {
            Auth::Simple { username, password } => {
                let len = u16::try_from(username.len())
                    .map_err(|_| ExtError::Invalid("a username is at most 65535 bytes"))?;
                out.put_u8(0x80);
                out.put_u16(len);
                out.put_slice(username.as_bytes());
                out.put_slice(password);
            }
            Auth::Bearer(token) => {
                out.put_u8(0x81);
                out.put_slice(token.as_bytes());
            }
            Auth::Other { kind, payload } => {
                match kind {
                    AuthType::WellKnown(id) if *id < 0x80 => out.put_u8(0x80 | id),
                    AuthType::WellKnown(_) => {
                        return Err(ExtError::Invalid("a well-known id is 7 bits"));
                    }
                    AuthType::Custom(name) => {
                        if name.is_empty() || name.len() > 128 || !name.is_ascii() {
                            return Err(ExtError::Invalid("an auth type is 1 to 128 ASCII bytes"));
                        }
                        out.put_u8((name.len() - 1) as u8);
                        out.put_slice(name.as_bytes());
                    }
                }
                out.put_slice(payload);
            }
        }
        Ok(out.freeze())
    }

    /// Reads authentication metadata.
    pub fn decode(mut input: Bytes) -> Result<Auth, ExtError> {
        if !input.has_remaining() {
            return Err(ExtError::TooShort);
        }
        let first = input.get_u8();
        let utf8 = |bytes: Bytes, what| {
            core::str::from_utf8(&bytes)
                .map(String::from)
                .map_err(|_| ExtError::Invalid(what))
        };
        match first {
            0x80 => {
                if input.remaining() < 2 {
                    return Err(ExtError::TooShort);
                }
                let len = usize::from(input.get_u16());
                if input.remaining() < len {
                    return Err(ExtError::TooShort);
                }
                let username = utf8(input.split_to(len), "a username is UTF-8")?;
                Ok(Auth::Simple {
                    username,
                    password: input,
                })
            }
            0x81 => Ok(Auth::Bearer(utf8(input, "a bearer token is UTF-8")?)),
            id if id & 0x80 != 0 => Ok(Auth::Other {
                kind: AuthType::WellKnown(id & 0x7F),
                payload: input,
            }),
            len => {
                let len = usize::from(len) + 1;
                if input.remaining() < len {
                    return Err(ExtError::TooShort);
                }
                let name = input.split_to(len);
                if !name.is_ascii() {
                    return Err(ExtError::Invalid("an auth type is ASCII"));
                }
                Ok(Auth::Other {
                    kind: AuthType::Custom(name.iter().map(|&b| char::from(b)).collect()),
                    payload: input,
                })
            }
        }
    }
}
