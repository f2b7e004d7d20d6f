//! What `connect` prints: received messages gathered into one buffer and
//! written to stdout once no more are ready, so a burst costs one write and
//! a lone reply still shows at once.

use tokio::io::AsyncWriteExt;

use super::{Mode, hex};

/// Output gathered before it is written even if more messages are ready,
/// so that a server that never pauses still gets printed.
const BATCH: usize = 256 << 10;

/// Received messages on their way to stdout.
pub struct Output {
    mode: Mode,
    batch: Vec<u8>,
    stdout: tokio::io::Stdout,
}

impl Output {
    /// Output printing messages as `mode` says.
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            batch: Vec::new(),
            stdout: tokio::io::stdout(),
        }
    }

    /// Add a text message: its text on a line of its own (`--binary-raw`:
    /// its bytes as they are).
    pub fn text(&mut self, text: &str) {
        self.batch.extend_from_slice(text.as_bytes());
        if self.mode != Mode::BinaryRaw {
            self.batch.push(b'\n');
        }
    }

    /// Add a binary message: a line of lowercase hex (`--binary-raw`: its
    /// bytes as they are).
    pub fn binary(&mut self, data: &[u8]) {
        if self.mode == Mode::BinaryRaw {
            self.batch.extend_from_slice(data);
        } else {
            self.batch.extend_from_slice(hex::encode(data).as_bytes());
            self.batch.push(b'\n');
        }
    }

    /// Whether the batch should be written before more is added.
    pub fn is_full(&self) -> bool {
        self.batch.len() >= BATCH
    }

    /// Hand the batch to stdout. The write proceeds in the background (on
    /// tokio's blocking pool) while the next batch is gathered; only a write
    /// still under way from the batch before holds this one up.
    ///
    /// # Errors
    /// When a write to stdout failed (a closed pipe, say).
    pub async fn write(&mut self) -> Result<(), String> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let written = self.stdout.write_all(&self.batch).await;
        self.batch.clear();
        written.map_err(|error| format!("writing stdout: {error}"))
    }

    /// Write what is gathered and wait until it is out.
    ///
    /// # Errors
    /// As [`write`](Self::write).
    pub async fn finish(&mut self) -> Result<(), String> {
        self.write().await?;
        self.stdout
            .flush()
            .await
            .map_err(|error| format!("writing stdout: {error}"))
    }
}
