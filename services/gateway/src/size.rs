//! The request size limit, answered the way the gRPC spec asks: RESOURCE_EXHAUSTED before the
//! message is read (tonic's own decoder limit answers OUT_OF_RANGE, after buffering). The
//! length prefix of the first gRPC frame is read and a message above the limit is refused
//! without the service ever seeing it.

use std::{
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::{Buf, Bytes, BytesMut};
use futures::{Stream, StreamExt};
use http_body::Frame;
use http_body_util::{BodyExt, BodyStream, StreamBody};
use tonic::{Status, body::Body, server::NamedService};
use tower::Service;

/// Refuses requests whose first message is larger than `max` bytes.
#[derive(Clone)]
pub struct MaxRequest<S> {
    inner: S,
    max: usize,
}

impl<S> MaxRequest<S> {
    pub fn new(inner: S, max: usize) -> Self {
        Self { inner, max }
    }
}

impl<S: NamedService> NamedService for MaxRequest<S> {
    const NAME: &'static str = S::NAME;
}

type Frames = Pin<Box<dyn Stream<Item = Result<Frame<Bytes>, Status>> + Send>>;

impl<S> Service<http::Request<Body>> for MaxRequest<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future =
        Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The ready clone serves this call; a fresh clone waits for the next poll_ready.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let max = self.max;
        Box::pin(async move {
            let (parts, mut body) = request.into_parts();
            let mut seen: Vec<Frame<Bytes>> = Vec::new();
            let mut head = BytesMut::new();
            while head.len() < 5 {
                match body.frame().await {
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            head.extend_from_slice(data.chunk());
                        }
                        seen.push(frame);
                    }
                    Some(Err(_)) | None => break,
                }
            }
            if head.len() >= 5 {
                let declared = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
                if declared > max {
                    let status = Status::resource_exhausted(format!(
                        "request message of {declared} bytes is larger than the limit of {max} bytes"
                    ));
                    return Ok(status.into_http());
                }
            }
            let rest = BodyStream::new(body);
            let frames: Frames =
                Box::pin(futures::stream::iter(seen.into_iter().map(Ok::<_, Status>)).chain(rest));
            let rebuilt = Body::new(StreamBody::new(frames));
            inner.call(http::Request::from_parts(parts, rebuilt)).await
        })
    }
}
