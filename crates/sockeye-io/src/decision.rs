//! A server's answer to an upgrade request: accept (built into the
//! engine's [`Accept`] when the time is known) or refuse with a status.

use core::time::Duration;

use sockeye::Endpoint;
use sockeye::handshake::{Accept, Request};

use crate::Error;

/// A server's answer to an upgrade request, returned by the `accept_with`
/// callback.
///
/// An accepting decision is the engine's [`Accept`] without its time:
/// [`to_accept`](Self::to_accept) builds that once the connection's clock
/// is read, so the choices are stated here and checked by the engine, once.
///
/// ```
/// use sockeye_io::Decision;
///
/// let yes = Decision::accept().protocol("chat.v1").header("Set-Cookie", "a=b");
/// let no = Decision::reject(403).body("forbidden origin");
/// # let _ = (yes, no);
/// ```
#[derive(Clone, Debug)]
pub struct Decision {
    /// `None` to accept, the status to reject with.
    reject: Option<u16>,
    protocol: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Decision {
    /// Accept the upgrade.
    pub fn accept() -> Self {
        Self {
            reject: None,
            protocol: None,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Refuse it with an HTTP `status` (200–599).
    pub fn reject(status: u16) -> Self {
        Self {
            reject: Some(status),
            ..Self::accept()
        }
    }

    /// A plain HTTP response with `status` (200–599), for a request that is
    /// not an upgrade, such as a page served beside the WebSocket; the same
    /// as [`reject`](Self::reject), named for that use.
    pub fn respond(status: u16) -> Self {
        Self::reject(status)
    }

    /// Accept the subprotocol the engine's rule selects from `supported`
    /// ([`Request::select_protocol`]: the first in the client's order of
    /// preference that `supported` lists), or none if there is no match.
    pub fn accept_first_of(request: &Request, supported: &[&str]) -> Self {
        match request.select_protocol(supported) {
            Some(protocol) => Self::accept().protocol(protocol),
            None => Self::accept(),
        }
    }

    /// Select a subprotocol the client offered (accepting only).
    pub fn protocol(mut self, protocol: &str) -> Self {
        self.protocol = Some(protocol.to_owned());
        self
    }

    /// Add a response header field.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The body of a rejection.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The bytes to write and, when accepted, the connection (open from `now`).
    ///
    /// # Errors
    /// [`Error::Handshake`] when the decision cannot be carried out (a
    /// subprotocol the client did not offer, a forbidden header field).
    pub fn apply(
        self,
        request: &Request,
        now: Duration,
    ) -> Result<(Vec<u8>, Option<sockeye::Connection>), Error> {
        match self.reject {
            Some(status) => Ok((request.reject(status, &self.fields(), &self.body)?, None)),
            None => {
                let (response, conn) = request.accept(self.to_accept(now))?;
                Ok((response, Some(conn)))
            }
        }
    }

    /// Carries the decision out on `endpoint`, whose request waits for its
    /// answer ([`EndpointEvent::Request`](sockeye::EndpointEvent::Request)):
    /// accepts at `now` (the `101` is queued and
    /// [`Opened`](sockeye::endpoint::Opened) follows) or queues the
    /// rejection, which the transport closes after. Returns the request,
    /// which the endpoint no longer holds.
    ///
    /// # Errors
    /// [`Error::Handshake`] when the decision cannot be carried out (a
    /// subprotocol the client did not offer, a forbidden header field, no
    /// request waiting).
    pub fn answer(self, endpoint: &mut Endpoint, now: Duration) -> Result<Request, Error> {
        let answered = match self.reject {
            Some(status) => endpoint.reject(status, &self.fields(), &self.body),
            None => endpoint.accept(self.to_accept(now)),
        };
        Ok(answered?)
    }

    /// The engine's [`Accept`] of this decision at `now`: the engine checks
    /// the subprotocol and the fields when it answers.
    pub fn to_accept(&self, now: Duration) -> Accept {
        let mut accept = Accept::new(now);
        if let Some(protocol) = &self.protocol {
            accept = accept.protocol(protocol);
        }
        for (name, value) in &self.headers {
            accept = accept.header(name, value);
        }
        accept
    }

    /// The extra fields, as the engine's refusal takes them.
    fn fields(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect()
    }

    /// The extra response fields, in order: of the accepting response, or
    /// of the refusal. An HTTP layer that writes its responses itself
    /// (hyper) sends them with [`rejected_status`](Self::rejected_status)
    /// and [`rejected_body`](Self::rejected_body).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// The body of a refusal (empty when accepting).
    pub fn rejected_body(&self) -> &[u8] {
        &self.body
    }

    /// The subprotocol selected by an accepting decision.
    pub fn selected_protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The status of a rejection.
    pub fn rejected_status(&self) -> Option<u16> {
        self.reject
    }
}
