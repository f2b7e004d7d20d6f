//! Receiving helpers for the async adapters' tests, shared by
//! `sockeye-tokio` and `sockeye-smol` (each includes this file with
//! `#[path]`).

use sockeye_io::Message;
use sockeye_io::driver::{Clock, Transport, WebSocket};

/// The next `count` text messages on `ws`, skipping other data and control
/// messages; panics if the connection ends or fails first.
pub async fn texts<T: Transport, C: Clock>(ws: &mut WebSocket<T, C>, count: usize) -> Vec<String> {
    let mut texts = Vec::new();
    while texts.len() < count {
        match ws.recv().await {
            Some(Ok(Message::Text(text))) => texts.push(text.to_string()),
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    texts
}
