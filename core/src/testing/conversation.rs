//! [`Conversation`]: Ktor's `handleWebSocketConversation`, done sans-I/O. A server
//! application written as a handler talks to a test that plays the client, over a
//! [`Pair`] on virtual time.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;

use super::{LinkConfig, Pair};
use crate::Machine;
use crate::http::{Accept, ClientRequest};
use crate::rng::Rng;
use crate::ws::{CloseCode, Command, Config, Connection, Event, Message, UsageError};

/// Turns at one instant before [`Conversation`] declares its handler livelocked.
const MAX_TURNS_PER_INSTANT: usize = 100_000;

/// A WebSocket conversation between a server application and a test acting as client.
///
/// The server application is a handler: it sees every server [`Event`] and answers with
/// the [`Command`]s to run, as a real application would through a driver. An
/// `UpgradeRequest` it answers with nothing is accepted with defaults. The test speaks as
/// the client ([`send`](Conversation::send), [`receive`](Conversation::receive),
/// [`close`](Conversation::close)) and lets virtual time pass with
/// [`advance`](Conversation::advance); the bytes cross a [`Pair`]'s links, which can
/// re-chunk and delay them.
///
/// ```
/// use wirestate_core::testing::Conversation;
/// use wirestate_core::ws::{Command, Event, Message};
///
/// // The application under test: answers every text message with its length.
/// let mut talk = Conversation::new(|event: &Event| match event {
///     Event::Message(Message::Text(text)) => {
///         vec![Command::Send(text.len().to_string().into())]
///     }
///     _ => vec![],
/// });
/// talk.send("hello").unwrap();
/// assert_eq!(talk.receive(), Some(Message::Text("5".into())));
/// ```
#[derive(Debug)]
pub struct Conversation<H> {
    /// The client (`a`) and the server (`b`) on their links and virtual clock.
    pub pair: Pair<Connection, Connection>,
    handler: H,
    /// Client events not yet taken by the test.
    client_events: VecDeque<Event>,
}

impl<H: FnMut(&Event) -> Vec<Command>> Conversation<H> {
    /// A conversation with default configurations, a request for `/`, instant links, and
    /// the handshake done (unless the handler rejected it).
    pub fn new(handler: H) -> Self {
        let config = Config::default();
        let request = ClientRequest::new("localhost", "/");
        Conversation::with(config, config, &request, LinkConfig::default(), handler)
    }

    /// A conversation with the given configurations, client request and link shape (both
    /// ways), run (in virtual time) until the handshake is over.
    ///
    /// # Panics
    /// If the request cannot be built (an invalid header name or value).
    pub fn with(
        client: Config,
        server: Config,
        request: &ClientRequest,
        link: LinkConfig,
        handler: H,
    ) -> Self {
        let client = Connection::client(client, Rng::from_u64(0x636c_6965_6e74), request)
            .expect("a valid client request");
        let server = Connection::server(server, Rng::from_u64(0x7365_7276_6572));
        let mut conversation = Conversation {
            pair: Pair::with_links(client, server, link, link),
            handler,
            client_events: VecDeque::new(),
        };
        // Let virtual time pass until the handshake is over one way or the other.
        let limit = conversation.pair.now + Duration::from_secs(60);
        conversation.settle();
        while !conversation.pair.a.is_open() && !conversation.client_closed() {
            match conversation.pair.next_wakeup() {
                Some(next) if next <= limit => conversation.pair.now = next,
                _ => break,
            }
            conversation.settle();
        }
        conversation
    }

    /// Whether the client has reported its end.
    fn client_closed(&self) -> bool {
        self.client_events
            .iter()
            .any(|event| matches!(event, Event::Closed(_)))
    }

    /// The client sends a message; the conversation settles.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), UsageError> {
        self.client_command(Command::Send(message.into()))
    }

    /// The client sends a ping; the conversation settles.
    pub fn ping(&mut self, payload: impl Into<Bytes>) -> Result<(), UsageError> {
        self.client_command(Command::Ping(payload.into()))
    }

    /// The client starts the closing handshake; the conversation settles.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), UsageError> {
        self.client_command(Command::Close {
            code,
            reason: reason.into(),
        })
    }

    /// Any client command; the conversation settles.
    pub fn client_command(&mut self, command: Command) -> Result<(), UsageError> {
        let now = self.pair.now;
        self.pair.a.command(now, command)?;
        self.settle();
        Ok(())
    }

    /// The next message the client received, skipping the handshake's `Open` and pings
    /// and pongs; `None` if none is there (a close event stays for
    /// [`next_event`](Conversation::next_event)).
    pub fn receive(&mut self) -> Option<Message> {
        self.settle();
        while let Some(event) = self.client_events.pop_front() {
            match event {
                Event::Message(message) => return Some(message),
                Event::Open { .. } | Event::Ping(_) | Event::Pong(_) => {}
                other => {
                    self.client_events.push_front(other);
                    return None;
                }
            }
        }
        None
    }

    /// The client's next event of any kind.
    pub fn next_event(&mut self) -> Option<Event> {
        self.settle();
        self.client_events.pop_front()
    }

    /// Every client event not yet taken.
    pub fn events(&mut self) -> Vec<Event> {
        self.settle();
        self.client_events.drain(..).collect()
    }

    /// Lets `duration` of virtual time pass, settling (and running the handler) at every
    /// deadline on the way.
    pub fn advance(&mut self, duration: Duration) {
        let end = self.pair.now + duration;
        self.settle();
        while let Some(next) = self.pair.next_wakeup().filter(|next| *next <= end) {
            self.pair.now = next;
            self.settle();
        }
        self.pair.now = self.pair.now.max(end);
    }

    /// Moves bytes and events at the current instant until nothing more happens: the
    /// handler answers server events, client events are kept for the test.
    ///
    /// # Panics
    /// If a handler's command is refused (a bug in the application under test), or if
    /// the handler keeps answering forever at one instant.
    fn settle(&mut self) {
        for _ in 0..MAX_TURNS_PER_INSTANT {
            self.pair.drive();
            let now = self.pair.now;
            let mut acted = false;
            while let Some(event) = self.pair.b.poll_event() {
                let mut commands = (self.handler)(&event);
                if commands.is_empty() && matches!(event, Event::UpgradeRequest(_)) {
                    commands.push(Command::Accept(Accept::new()));
                }
                for command in commands {
                    acted = true;
                    if let Err(error) = self.pair.b.command(now, command) {
                        panic!("the server application's command was refused: {error}");
                    }
                }
            }
            self.client_events
                .extend(core::iter::from_fn(|| self.pair.a.poll_event()));
            if !acted {
                return;
            }
        }
        panic!(
            "Conversation: the handler did not settle at {:?}",
            self.pair.now
        );
    }
}
