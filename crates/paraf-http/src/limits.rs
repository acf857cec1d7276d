//! A deadline for reading a request body, for servers whose clients send bodies
//! themselves (`paraf serve`; API Gateway hands Lambda whole bodies).
//!
//! The clock starts when the router sees the request (its headers are in) and does not
//! restart with each chunk, so a client trickling a byte at a time is cut off too. A body
//! read past the deadline fails with [`BodyDeadlineExceeded`], which the API answers with
//! 408 ([`is_body_deadline`]); the unread rest makes the server close the connection.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::middleware::Next;
use axum::Router;
use http_body::{Frame, SizeHint};
use tokio::time::Sleep;

/// The request body was not received in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received within {0:?}")]
pub struct BodyDeadlineExceeded(pub Duration);

/// Whether `err`, or anything in its cause chain, is a [`BodyDeadlineExceeded`].
pub fn is_body_deadline(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if e.is::<BodyDeadlineExceeded>() {
            return true;
        }
        cur = e.source();
    }
    false
}

struct DeadlineBody {
    inner: Body,
    sleep: Pin<Box<Sleep>>,
    timeout: Duration,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        // What has arrived is handed on even past the deadline; only waiting is cut short.
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(BodyDeadlineExceeded(
                self.timeout,
            ))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Gives every request body of `router` `timeout` to arrive whole.
pub fn with_body_deadline(router: Router, timeout: Duration) -> Router {
    router.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| async move {
            let (parts, body) = req.into_parts();
            let body = if body.is_end_stream() {
                body
            } else {
                Body::new(DeadlineBody {
                    inner: body,
                    sleep: Box::pin(tokio::time::sleep(timeout)),
                    timeout,
                })
            };
            next.run(Request::from_parts(parts, body)).await
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use tower::ServiceExt as _;

    /// Sends a first chunk, then nothing ever again.
    struct Stalled(bool);

    impl HttpBody for Stalled {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            if self.0 {
                Poll::Pending
            } else {
                self.0 = true;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"{\"a\":")))))
            }
        }
    }

    #[tokio::test]
    async fn a_body_that_stops_arriving_fails_at_the_deadline_and_says_why() {
        let app = with_body_deadline(
            Router::new().route(
                "/",
                post(|body: Body| async move {
                    match axum::body::to_bytes(body, 1024).await {
                        Ok(_) => "whole".to_string(),
                        Err(e) => format!("deadline={}", is_body_deadline(&e)),
                    }
                }),
            ),
            Duration::from_millis(50),
        );
        let req = Request::post("/").body(Body::new(Stalled(false))).unwrap();
        let res = app.oneshot(req).await.unwrap();
        let text = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        assert_eq!(&text[..], b"deadline=true");
    }
}
