//! ZIP downloads, streamed. Each file is read, opened and written in turn on a blocking
//! thread and handed to the response through a small bounded channel, so memory holds one
//! image at a time whatever the archive's size, and a client that goes away stops the work.

use std::io::Write;

use tokio::sync::mpsc;
use zip::write::SimpleFileOptions;

use crate::{App, AppError, Result};

/// One file of an archive: its name inside the ZIP and the sealed blob it comes from.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub blob: String,
}

/// Chunks of the archive as they are made; an `Err` means it stopped part-way.
pub type Chunks = mpsc::Receiver<std::io::Result<Vec<u8>>>;

const CHUNK: usize = 64 * 1024;

impl App {
    /// Streams a ZIP of `entries`, all blobs of `user_id`. Images are already compressed,
    /// so they are stored as they are.
    pub async fn zip(&self, user_id: &str, entries: Vec<Entry>) -> Result<Chunks> {
        let key = self.data_key(user_id).await?;
        let slot = self.zips.clone().acquire_owned().await.map_err(|e| AppError::Internal(e.to_string()))?;
        let (tx, rx) = mpsc::channel(4);
        let blobs = self.blobs.clone();
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let sink = Sink { tx: tx.clone(), buf: Vec::with_capacity(CHUNK), runtime: runtime.clone() };
            let result = (|| -> std::io::Result<()> {
                let mut zip = zip::ZipWriter::new_stream(sink);
                let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
                for entry in entries {
                    let bytes = runtime
                        .block_on(blobs.get(&key, &entry.blob))
                        .map_err(|e| std::io::Error::other(format!("{}: {e}", entry.blob)))?;
                    zip.start_file(entry.name, options).map_err(std::io::Error::other)?;
                    zip.write_all(&bytes)?;
                }
                zip.finish().map_err(std::io::Error::other)?.into_inner().flush()
            })();
            if let Err(e) = result {
                tracing::warn!(error = %e, "ZIP stopped part-way");
                let _ = tx.blocking_send(Err(e));
            }
        });
        Ok(rx)
    }
}

/// Entries named `names` (made unique and safe) for `blobs`, in order.
pub fn entries(names: Vec<String>, blobs: impl IntoIterator<Item = String>) -> Vec<Entry> {
    unique_names(names).into_iter().zip(blobs).map(|(name, blob)| Entry { name, blob }).collect()
}

/// Unique, safe file names for an archive: path separators and control characters go,
/// repeats get a counter.
pub fn unique_names(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    names
        .into_iter()
        .map(|name| {
            let clean: String =
                name.chars().map(|c| if c.is_control() || matches!(c, '\\' | ':') { '_' } else { c }).collect();
            let clean = clean.split('/').filter(|part| !matches!(*part, "" | "." | "..")).collect::<Vec<_>>().join("/");
            let clean = if clean.is_empty() { "file".to_owned() } else { clean };
            let (stem, ext) = match clean.rsplit_once('.') {
                Some((s, e)) if !s.is_empty() && !e.contains('/') => (s.to_owned(), format!(".{e}")),
                _ => (clean.clone(), String::new()),
            };
            let mut candidate = clean;
            let mut n = 2;
            while !seen.insert(candidate.clone()) {
                candidate = format!("{stem}-{n}{ext}");
                n += 1;
            }
            candidate
        })
        .collect()
}

/// Writes into the channel in chunks; fails once the receiver (the client) has gone or
/// has not taken a chunk for `STALL`, so a stalled download cannot hold its thread.
struct Sink {
    tx: mpsc::Sender<std::io::Result<Vec<u8>>>,
    buf: Vec<u8>,
    runtime: tokio::runtime::Handle,
}

const STALL: std::time::Duration = std::time::Duration::from_secs(60);

impl Write for Sink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        match self.runtime.block_on(tokio::time::timeout(STALL, self.tx.send(Ok(chunk)))) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone")),
            Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "client stopped reading")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::unique_names;

    #[test]
    fn names_are_unique_and_stay_inside_the_archive() {
        let names = unique_names(
            [
                "ring/amazon.jpg",
                "ring/amazon.jpg",
                "../../etc/passwd",
                "a/../../b.png",
                "a\u{0}b.png",
                "ring/amazon.jpg",
            ]
            .map(String::from),
        );
        assert_eq!(
            names,
            ["ring/amazon.jpg", "ring/amazon-2.jpg", "etc/passwd", "a/b.png", "a_b.png", "ring/amazon-3.jpg"]
        );
    }
}
