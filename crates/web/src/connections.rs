//! Guards on connections, before HTTP: a cap on the connections one client network may hold
//! open, and an idle timeout (no byte read or written for `server.idle_timeout_secs`) that
//! closes keep-alive connections nobody uses and clients that stall.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// Counts open connections per network and wraps each in an idle timer.
#[derive(Clone)]
pub struct Guard {
    open: Arc<Mutex<HashMap<String, usize>>>,
    /// `None` behind a proxy, where every connection comes from the proxy.
    cap: Option<usize>,
    idle: Duration,
}

impl Guard {
    pub fn new(cap: Option<usize>, idle: Duration) -> Self {
        Self { open: Arc::default(), cap, idle }
    }

    fn admit(&self, peer: SocketAddr) -> io::Result<Slot> {
        let network = domain::device::truncate_ip(peer.ip());
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = open.entry(network.clone()).or_default();
        if self.cap.is_some_and(|cap| *n >= cap) {
            return Err(io::Error::other(format!("too many connections from {network}")));
        }
        *n += 1;
        Ok(Slot { open: self.open.clone(), network })
    }
}

impl<S: Send + 'static> Accept<TcpStream, S> for Guard {
    type Stream = Guarded;
    type Service = S;
    type Future = std::future::Ready<io::Result<(Guarded, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let admitted = stream.peer_addr().and_then(|peer| self.admit(peer));
        std::future::ready(admitted.map(|slot| {
            let idle = Box::pin(tokio::time::sleep(self.idle));
            (Guarded { stream, _slot: slot, idle, limit: self.idle }, service)
        }))
    }
}

/// Frees its network's place when the connection ends.
struct Slot {
    open: Arc<Mutex<HashMap<String, usize>>>,
    network: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.network) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.network);
            }
        }
    }
}

/// A connection that fails once no byte has moved either way for `limit`.
pub struct Guarded {
    stream: TcpStream,
    _slot: Slot,
    idle: Pin<Box<Sleep>>,
    limit: Duration,
}

impl Guarded {
    fn moved(&mut self) {
        self.idle.as_mut().reset(Instant::now() + self.limit);
    }

    fn timed_out(&mut self, cx: &mut Context<'_>) -> bool {
        self.idle.as_mut().poll(cx).is_ready()
    }

    /// A write's outcome: bytes written count as activity; a pending write past the idle
    /// limit is an error.
    fn written(&mut self, cx: &mut Context<'_>, polled: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        match polled {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.moved();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending if self.timed_out(cx) => Poll::Ready(Err(io::ErrorKind::TimedOut.into())),
            other => other,
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.moved();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending if self.timed_out(cx) => Poll::Ready(Err(io::ErrorKind::TimedOut.into())),
            other => other,
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.written(cx, polled)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.written(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
