//! The I/O of `rate_limit`: the bounded burst, and the request after the announced wait.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::RateLimitParams;
use super::headers::{Family, FamilyValues, family_values, header};
use super::identity::Shot;
use super::judgement::Rejects;
use crate::checks::http::{HttpHandle, error_text, request};
use crate::checks::outcome::CheckError;

/// One answered request of the burst.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// Position in sending order, from 0.
    pub seq: u32,
    pub status: u16,
    pub families: BTreeMap<Family, FamilyValues>,
    pub retry_after: Option<String>,
}

/// What the burst observed: the facts the judgement reads.
#[derive(Debug, Default)]
pub struct Burst {
    /// In the order they arrived, which is close to the order the server saw them.
    pub answers: Vec<Answer>,
    pub first_error: Option<(u32, String)>,
    /// Requests that got no answer (refused, reset, timed out).
    pub failed: u32,
}

/// What the burst's workers share.
#[derive(Default)]
struct Shared {
    next: AtomicU32,
    stop: AtomicBool,
    answers: Mutex<Vec<Answer>>,
    first_error: Mutex<Option<(u32, String)>>,
    failed: AtomicU32,
}

/// One request of a shot, with its body.
fn send(
    client: &reqwest::Client,
    method: &reqwest::Method,
    shot: &Shot,
) -> reqwest::RequestBuilder {
    let request = request(client, method, &shot.url, &shot.headers);
    match &shot.body {
        None => request,
        Some(body) if body.json => request
            .header("content-type", "application/json")
            .body(body.bytes.clone()),
        Some(body) => request.body(body.bytes.clone()),
    }
}

/// Sends up to `budget` requests over `concurrency` connections, until the first rejection or
/// the first request that gets no answer. Request `seq` is sent as `shots[seq % shots.len()]`:
/// one identity, or several in turn.
pub async fn burst(
    http: &HttpHandle,
    method: &reqwest::Method,
    shots: Arc<[Shot]>,
    params: &RateLimitParams,
    budget: u32,
) -> Burst {
    let shared = Arc::new(Shared::default());
    let started = Instant::now();
    // One task per connection: polled independently, and spread over the runtime's threads.
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..params.concurrency.0.min(budget).max(1) {
        let shared = shared.clone();
        let client = http.client.clone();
        let (method, shots) = (method.clone(), shots.clone());
        let rejects = Rejects::of(params);
        workers.spawn(async move {
            while !shared.stop.load(Ordering::Relaxed) {
                let seq = shared.next.fetch_add(1, Ordering::Relaxed);
                if seq >= budget {
                    break;
                }
                let shot = &shots[seq as usize % shots.len()];
                match send(&client, &method, shot).send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let headers = response.headers();
                        let answer = Answer {
                            seq,
                            status,
                            families: family_values(headers),
                            retry_after: header(headers, "retry-after").map(str::to_string),
                        };
                        // Read the body so that the connection is reused.
                        let _ = response.bytes().await;
                        if rejects.is_rejection(status) {
                            shared.stop.store(true, Ordering::Relaxed);
                        }
                        lock(&shared.answers).push(answer);
                    }
                    Err(e) => {
                        shared.stop.store(true, Ordering::Relaxed);
                        shared.failed.fetch_add(1, Ordering::Relaxed);
                        lock(&shared.first_error).get_or_insert((seq, error_text(&e)));
                    }
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let sent = shared.next.load(Ordering::Relaxed).min(budget);
    // The rate depends on this machine, not on the limiter: logged, not measured.
    tracing::debug!(
        sent,
        requests_per_second = f64::from(sent) / started.elapsed().as_secs_f64().max(1e-6),
        "rate_limit burst"
    );
    Burst {
        answers: std::mem::take(&mut *lock(&shared.answers)),
        first_error: lock(&shared.first_error).take(),
        failed: shared.failed.load(Ordering::Relaxed),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// How long after the announced wait the request is sent: the server's clock rounds too.
pub const PAST_THE_WAIT: Duration = Duration::from_millis(100);

/// The status of one request sent a little after `wait`.
pub async fn status_after(
    http: &HttpHandle,
    method: &reqwest::Method,
    shot: &Shot,
    wait: Duration,
    subject: &str,
) -> Result<u16, CheckError> {
    tokio::time::sleep(wait + PAST_THE_WAIT).await;
    status_of(http, method, shot, subject).await
}

/// The status of one request, sent now.
pub async fn status_of(
    http: &HttpHandle,
    method: &reqwest::Method,
    shot: &Shot,
    subject: &str,
) -> Result<u16, CheckError> {
    let response = send(&http.client, method, shot).send().await.map_err(|e| {
        CheckError::new(format!("{subject}: the request failed: {}", error_text(&e)))
    })?;
    Ok(response.status().as_u16())
}
