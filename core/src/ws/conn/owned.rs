//! A whole message received straight out of the input, owned, without the event queue:
//! for a driver that hands messages to the application as soon as they are read (an inline
//! socket), where queueing one event only to take it back at once is all the queue does.

use super::Connection;
use crate::Machine;
use crate::time::Instant;
use crate::ws::event::Message;

/// What [`Connection::read_owned`] did with its input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Owned {
    /// The input started with a whole message in one frame: here it is, owned (its payload
    /// split off the receive buffer, as a queued message's is). Its frame was the first
    /// `consumed` bytes; feed the rest.
    Message {
        /// Bytes of the input the message's frame took.
        consumed: usize,
        /// The message.
        message: Message,
    },
    /// The input went the general way, as through [`handle_input`](Machine::handle_input):
    /// this many bytes were taken, and whatever they completed is queued as events.
    Fed(usize),
}

impl Connection {
    /// Receives a whole message without queueing it: under the conditions of
    /// [`read_in_place`](Connection::read_in_place) (open, no events queued, no frame in
    /// progress), a whole single-frame text or binary message at the start of `data` is
    /// returned owned instead of queued as an [`Event::Message`](crate::ws::Event::Message).
    /// Anything else goes through [`handle_input`](Machine::handle_input) and comes back as
    /// [`Owned::Fed`]: drain [`poll_event`](Machine::poll_event) before the next call, so
    /// that events keep their order.
    ///
    /// The message counts as handed to the application, as one taken from `poll_event`
    /// does: a peer's fault behind it waits until the application comes back to an empty
    /// event queue, so that its answer goes out first.
    ///
    /// ```
    /// use wirestate_core::http::{Accept, ClientRequest};
    /// use wirestate_core::ws::{Command, Config, Connection, Message, Owned};
    /// use wirestate_core::{Instant, Machine, Rng};
    ///
    /// let now = Instant::ZERO;
    /// let request = ClientRequest::new("example.com", "/");
    /// let mut client = Connection::client(Config::default(), Rng::from_u64(1), &request)?;
    /// let mut server = Connection::server(Config::default(), Rng::from_u64(2));
    /// // The upgrade, in memory.
    /// server.handle_input(now, &client.poll_transmit().unwrap());
    /// server.poll_event(); // the upgrade request
    /// server.command(now, Command::Accept(Accept::new()))?;
    /// client.handle_input(now, &server.poll_transmit().unwrap());
    /// server.poll_event(); // open
    ///
    /// client.send_text(now, "hello")?;
    /// let wire = client.poll_transmit().unwrap();
    /// let Owned::Message { consumed, message } = server.read_owned(now, &wire) else {
    ///     panic!("a whole message");
    /// };
    /// assert_eq!((consumed, message), (wire.len(), Message::from("hello")));
    /// assert_eq!(server.poll_event(), None, "nothing was queued");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_owned(&mut self, now: Instant, data: &[u8]) -> Owned {
        if !self.receives_whole() {
            return Owned::Fed(self.handle_input(now, data));
        }
        self.last_now = now;
        match self.receiver.whole_message(data, &self.config) {
            Ok(Some((consumed, message))) => {
                self.touch(now);
                // Handed to the application, which may answer it before a later fault is
                // acted on.
                self.answering = true;
                Owned::Message { consumed, message }
            }
            Ok(None) => Owned::Fed(self.handle_input(now, data)),
            Err(error) => {
                self.peer_fault(now, error);
                Owned::Fed(data.len()) // nothing after a bad frame matters
            }
        }
    }
}
