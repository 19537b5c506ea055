//! The examples' command line: `--name value` pairs and the `--runtime` choice.

use std::collections::HashMap;

/// The runtime an example runs on (`--runtime smol|tokio|blocking`, default smol).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runtime {
    Smol,
    Tokio,
    Blocking,
}

/// `--name value` pairs from the command line.
pub(crate) struct Args(HashMap<String, String>);

impl Args {
    /// Parses `std::env::args()`; exits with a usage line on a malformed command line.
    pub(crate) fn parse(usage: &str) -> Args {
        let mut map = HashMap::new();
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let (Some(name), Some(value)) = (flag.strip_prefix("--"), args.next()) else {
                eprintln!("usage: {usage}");
                std::process::exit(2);
            };
            map.insert(name.to_string(), value);
        }
        Args(map)
    }

    /// The value of `--name`, or `default`.
    pub(crate) fn get(&self, name: &str, default: &str) -> String {
        self.0
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }

    /// The `--runtime` choice.
    pub(crate) fn runtime(&self) -> Runtime {
        match self.get("runtime", "smol").as_str() {
            "smol" => Runtime::Smol,
            "tokio" => Runtime::Tokio,
            "blocking" => Runtime::Blocking,
            other => {
                eprintln!("unknown runtime {other:?}: use smol, tokio or blocking");
                std::process::exit(2);
            }
        }
    }
}

/// Prints the readiness line scripts wait for, flushed at once.
#[allow(dead_code)] // clients include this file too
pub(crate) fn announce(addr: std::net::SocketAddr) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {addr}").expect("stdout");
    stdout.flush().expect("stdout");
}
