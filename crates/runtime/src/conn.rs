//! Connection timeouts for a server facing the internet: a connection that has carried no call
//! for `idle` is closed, and one that has not started a call `first_request` after it was
//! accepted (a stalled handshake or header block, a client that connects and waits) is closed
//! too. A connection with a call in flight — a live stream included — is never idle.
//!
//! [`Guarded`] wraps the accepted socket and checks the deadlines while the server waits to
//! read; [`CallsLayer`] counts each connection's calls in flight (through the connect info
//! tonic puts on every request) until each response body ends.

use std::{
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::transport::server::Connected;

/// The deadlines of a connection; `None` turns one off.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timeouts {
    pub idle: Option<Duration>,
    pub first_request: Option<Duration>,
}

/// What the socket and the calls layer share about one connection.
#[derive(Debug)]
pub struct ConnState {
    accepted: Instant,
    in_flight: AtomicUsize,
    requested: AtomicBool,
    /// Milliseconds after `accepted` when the last call ended.
    last_done_ms: AtomicU64,
}

impl ConnState {
    fn new() -> Self {
        Self {
            accepted: Instant::now(),
            in_flight: AtomicUsize::new(0),
            requested: AtomicBool::new(false),
            last_done_ms: AtomicU64::new(0),
        }
    }

    fn call_started(&self) {
        self.requested.store(true, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    fn call_ended(&self) {
        let ms = self.accepted.elapsed().as_millis() as u64;
        self.last_done_ms.store(ms, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// When the connection must close, or `None` while a call is in flight.
    fn deadline(&self, timeouts: Timeouts) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        if !self.requested.load(Ordering::Relaxed)
            && let Some(first) = timeouts.first_request
        {
            return Some(self.accepted + first);
        }
        timeouts.idle.map(|idle| {
            self.accepted + Duration::from_millis(self.last_done_ms.load(Ordering::Relaxed)) + idle
        })
    }
}

/// The connect info of a guarded connection (in every request's extensions).
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub remote: Option<std::net::SocketAddr>,
    pub state: Arc<ConnState>,
}

/// An accepted socket that fails its reads once a deadline of [`Timeouts`] passes.
pub struct Guarded<T> {
    inner: T,
    remote: Option<std::net::SocketAddr>,
    state: Arc<ConnState>,
    timeouts: Timeouts,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> Guarded<T> {
    pub fn new(inner: T, remote: Option<std::net::SocketAddr>, timeouts: Timeouts) -> Self {
        Self {
            inner,
            remote,
            state: Arc::new(ConnState::new()),
            timeouts,
            timer: None,
        }
    }

    /// Arms the timer for the next check; an error when a deadline has passed.
    fn check(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        if self.timeouts.idle.is_none() && self.timeouts.first_request.is_none() {
            return None;
        }
        loop {
            let now = Instant::now();
            let next = match self.state.deadline(self.timeouts) {
                Some(deadline) if deadline <= now => {
                    return Some(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "connection idle past its timeout",
                    ));
                }
                Some(deadline) => deadline,
                // A call in flight: look again later (it may end without the client writing).
                None => now + Duration::from_secs(1),
            };
            let timer = self
                .timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(next.into())));
            timer.as_mut().reset(next.into());
            if timer.as_mut().poll(cx).is_pending() {
                return None;
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Pending => match self.check(cx) {
                Some(e) => Poll::Ready(Err(e)),
                None => Poll::Pending,
            },
            ready => ready,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl<T> Connected for Guarded<T> {
    type ConnectInfo = ConnInfo;

    fn connect_info(&self) -> ConnInfo {
        ConnInfo {
            remote: self.remote,
            state: self.state.clone(),
        }
    }
}

/// Counts each guarded connection's calls in flight until their response bodies end.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallsLayer;

impl<S> tower::Layer<S> for CallsLayer {
    type Service = Calls<S>;

    fn layer(&self, inner: S) -> Calls<S> {
        Calls { inner }
    }
}

/// The service of [`CallsLayer`].
#[derive(Debug, Clone)]
pub struct Calls<S> {
    inner: S,
}

/// Ends a call when dropped (with the response body, or the future that never answered).
struct CallGuard(Option<Arc<ConnState>>);

impl Drop for CallGuard {
    fn drop(&mut self) {
        if let Some(state) = self.0.take() {
            state.call_ended();
        }
    }
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Calls<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: http_body::Body + Send + 'static,
{
    type Response = http::Response<GuardedBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<
        Box<dyn Future<Output = Result<http::Response<GuardedBody<ResBody>>, S::Error>> + Send>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let state = request
            .extensions()
            .get::<ConnInfo>()
            .map(|info| info.state.clone());
        if let Some(state) = &state {
            state.call_started();
        }
        let guard = CallGuard(state);
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            Ok(response.map(|body| GuardedBody {
                inner: Box::pin(body),
                _guard: guard,
            }))
        })
    }
}

/// A response body that ends its call when it is dropped.
pub struct GuardedBody<B> {
    inner: Pin<Box<B>>,
    _guard: CallGuard,
}

impl<B: http_body::Body> http_body::Body for GuardedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.inner.as_mut().poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_follow_calls() {
        let timeouts = Timeouts {
            idle: Some(Duration::from_secs(10)),
            first_request: Some(Duration::from_secs(2)),
        };
        let state = ConnState::new();
        let first = state.deadline(timeouts).expect("a deadline");
        assert_eq!(first, state.accepted + Duration::from_secs(2));
        state.call_started();
        assert_eq!(state.deadline(timeouts), None, "never idle during a call");
        state.call_ended();
        let idle = state.deadline(timeouts).expect("a deadline");
        assert!(idle >= state.accepted + Duration::from_secs(10));
        assert_eq!(ConnState::new().deadline(Timeouts::default()), None);
    }
}
