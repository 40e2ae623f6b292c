//! The plane's tasks: accepting, a client connection's requests, and one native invocation.

use std::io;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::IgnoredAny;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{sleep_until, timeout_at};

use super::context::{self, Context};
use super::frames::Frame;
use super::http::{self, Head, Invoke};
use super::verify::{self, Key};
use super::{give_back, ids, permit_key, runtime_http, wall, Env, Event, Shared};

const READ_CHUNK: usize = 64 * 1024;
// What Python's front door buffers of pipelined requests at most; a client sending more waits.
const MAX_BUFFER: usize = 256 * 1024;
// Completions Python has not taken yet beyond which Invokes go to Python (misses) until it catches
// up: its bookkeeping bounds the rate, as it does without the plane, and memory stays bounded.
const MAX_BACKLOG: usize = 4096;
// Python's jsonbody.INLINE_BYTES: an error document's type is read only from one this small.
const INLINE_BYTES: usize = 16 * 1024;

pub async fn accept(shared: Arc<Shared>, listener: TcpListener) {
    let mut accepting = shared.accepting.subscribe();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    keepalive(&stream);
                    tokio::spawn(connection(shared.clone(), stream));
                }
                // Out of descriptors, and the like: try again shortly, as asyncio does.
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            },
            _ = until(&mut accepting, false) => return,
        }
    }
}

/// Once the switch is `value`.
pub async fn until(rx: &mut tokio::sync::watch::Receiver<bool>, value: bool) {
    loop {
        let now = *rx.borrow_and_update();
        if now == value {
            return;
        }
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

fn keepalive(stream: &TcpStream) {
    let on: libc::c_int = 1;
    unsafe {
        libc::setsockopt(stream.as_raw_fd(), libc::SOL_SOCKET, libc::SO_KEEPALIVE, (&on as *const libc::c_int).cast(),
                         std::mem::size_of::<libc::c_int>() as libc::socklen_t);
    }
}

enum Step {
    Next,
    Close,
    /// To Python for good, the request's bytes put back in front of what follows.
    HandOver(Vec<u8>),
}

/// One client connection, until it closes or goes to Python.
pub async fn connection(shared: Arc<Shared>, mut stream: TcpStream) {
    let peer = stream.peer_addr().map(|address| address.ip().to_canonical().to_string()).unwrap_or_default();
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut closing = shared.closing.subscribe();
    loop {
        // The head: within the header timeout (an idle connection's too), as aiohttp counts it.
        let deadline = Instant::now() + shared.config.header_timeout;
        let request = loop {
            match http::parse(&buf, shared.config.payload_limit) {
                Head::Invoke(request) => break request,
                Head::Other => return hand_over(&shared, stream, buf),
                Head::NeedMore => {}
            }
            let closed = *closing.borrow();
            if closed && buf.is_empty() {
                return;
            }
            tokio::select! {
                read = timeout_at(deadline.into(), read_more(&mut stream, &mut buf)) => match read {
                    Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return, // closed, failed, or too slow: closed unanswered
                    Ok(Ok(_)) => {}
                },
                _ = until(&mut closing, true), if buf.is_empty() => return,
            }
        };
        let end = request.head_len + request.content_length;
        if buf.len() < end {
            let deadline = Instant::now() + shared.config.body_timeout;
            while buf.len() < end {
                match timeout_at(deadline.into(), read_more(&mut stream, &mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => return,
                    Ok(Ok(_)) => {}
                    Err(_) => return hand_over(&shared, stream, buf), // Python answers the 408
                }
            }
        }
        if request.close && buf.len() > end {
            return hand_over(&shared, stream, buf); // bytes after "Connection: close": Python's to refuse
        }
        let head = buf[..request.head_len].to_vec();
        let body = buf[request.head_len..end].to_vec();
        buf.drain(..end);
        match invoke(&shared, &mut stream, &request, head, body, &peer).await {
            Step::Next if !request.close && !is_closing(&shared) => {}
            Step::Next | Step::Close => {
                let _ = stream.shutdown().await;
                return;
            }
            Step::HandOver(mut request) => {
                request.extend_from_slice(&buf);
                return hand_over(&shared, stream, request);
            }
        }
        if buf.len() > MAX_BUFFER {
            return hand_over(&shared, stream, buf);
        }
    }
}

fn is_closing(shared: &Shared) -> bool {
    *shared.closing.borrow()
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    buf.reserve(READ_CHUNK);
    stream.read_buf(buf).await
}

/// The connection, with what was read of it, to Python for good.
fn hand_over(shared: &Shared, stream: TcpStream, data: Vec<u8>) {
    if let Ok(std) = stream.into_std() {
        shared.counts.handed_over.fetch_add(1, Ordering::Relaxed);
        shared.push(Event::Conn { fd: std.into_raw_fd(), data });
    }
}

/// What a request's caller may run natively: its lane, with the key it must be signed with.
struct Lane {
    lane: String,
    key: Option<(String, String, Option<String>)>, // access key id, secret, token
}

fn lane_of(shared: &Shared, request: &Invoke, peer: &str) -> Option<Lane> {
    let config = &shared.config;
    let qualifier = request.qualifier.as_deref().unwrap_or("");
    let (key_id, region) = if config.verify {
        let auth = verify::authorization(request.header("authorization")?)?;
        (auth.access_key_id.to_owned(), auth.region.to_owned())
    } else {
        (String::new(), config.region.clone())
    };
    let mut state = shared.state();
    let permit = state.permits.get_mut(&permit_key(peer, &key_id, &region, &request.function, qualifier))?;
    let now = Instant::now();
    if permit.until <= now || permit.key_expires.is_some_and(|at| at <= wall()) {
        return None;
    }
    let renew = !permit.renewing && permit.until - now < permit.ttl / 3;
    permit.renewing |= renew;
    let key = config.verify.then(|| (key_id.clone(), permit.secret.clone(), permit.token.clone()));
    let lane = Lane { lane: permit.lane.clone(), key };
    drop(state);
    if renew {
        shared.push(Event::Renew { peer: peer.to_owned(), access_key_id: key_id, region, function: request.function.clone(),
                                   qualifier: qualifier.to_owned() });
    }
    Some(lane)
}

/// Nothing but white space (Python's ``isspace``), which Python's invoker sends as `{}`.
fn blank(body: &[u8]) -> bool {
    body.iter().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
}

/// Whether Python's invoker would take `body` as it is: JSON (serde's reading is stricter than
/// Python's: what it refuses is a miss).
fn payload_of(body: &[u8]) -> Option<&[u8]> {
    if blank(body) {
        return Some(b"{}");
    }
    // serde_json does not look inside the strings it skips: text that is not UTF-8 is a miss too.
    std::str::from_utf8(body).ok()?;
    serde_json::from_slice::<IgnoredAny>(body).ok()?;
    Some(body)
}

async fn invoke(shared: &Arc<Shared>, client: &mut TcpStream, request: &Invoke, head: Vec<u8>, body: Vec<u8>,
                peer: &str) -> Step {
    let lane = match lane_of(shared, request, peer) {
        Some(lane) if shared.backlog() < MAX_BACKLOG => lane,
        _ => return miss(shared, client, head, body, request.close, peer).await,
    };
    let client_context = match context::read(request.header("x-amz-client-context")) {
        Context::Absent => None,
        Context::Passed(context) => Some(context),
        Context::Python => return miss(shared, client, head, body, request.close, peer).await,
    };
    if let Some((key_id, secret, token)) = &lane.key {
        let region = lane.lane.split('\n').nth(1).unwrap_or("");
        let key = Key { access_key_id: key_id, secret, token: token.as_deref(), region };
        let now = wall() as u64;
        if !verify::signed_by(request, &body, &key, now) {
            return miss(shared, client, head, body, request.close, peer).await;
        }
    }
    if payload_of(&body).is_none() {
        return miss(shared, client, head, body, request.close, peer).await;
    }
    let env = shared.take_idle(&lane.lane);
    let Some(env) = env else {
        return miss(shared, client, head, body, request.close, peer).await;
    };
    shared.counts.served.fetch_add(1, Ordering::Relaxed);
    shared.counts.in_flight.fetch_add(1, Ordering::Relaxed);
    let invocation = Invocation {
        request_id: ids::request_id(), payload: if blank(&body) { b"{}".to_vec() } else { body.clone() }, arn: None,
        client_context,
    };
    let caller = Caller::Client { client, request, raw: (head, body), peer };
    let step = run(shared, env, invocation, caller).await;
    shared.counts.in_flight.fetch_sub(1, Ordering::Relaxed);
    step
}

/// An invocation Python started (`DataPlane.run`), in `env` (taken busy from its lane): its
/// completion (or, if it went wrong, the invocation given back) is Python's answer.
pub async fn run_for_python(shared: Arc<Shared>, env: Env, token: u64, invocation: Invocation) {
    run(&shared, env, invocation, Caller::Python { token }).await;
    shared.counts.in_flight.fetch_sub(1, Ordering::Relaxed);
}

/// A request Python answers (the connection stays here), or hands back to be handed over.
async fn miss(shared: &Shared, client: &mut TcpStream, head: Vec<u8>, body: Vec<u8>, close: bool, peer: &str) -> Step {
    shared.counts.missed.fetch_add(1, Ordering::Relaxed);
    let (token, answer) = shared.ask();
    let request = [head.as_slice(), body.as_slice()].concat();
    shared.push(Event::Miss { token, head, body, close, peer: peer.to_owned() });
    match answer.await.ok().flatten() {
        Some(bytes) => write_answer(client, &bytes, close).await,
        None => Step::HandOver(request), // Python reads it otherwise: the connection is its own
    }
}

async fn write_answer(client: &mut TcpStream, answer: &[u8], close: bool) -> Step {
    if client.write_all(answer).await.is_err() || close {
        return Step::Close;
    }
    Step::Next
}

/// Read what the pipe holds now (without waiting); false once it is at its end.
fn read_pipe(env: &mut Env, into: &mut Vec<u8>) {
    if env.pipe_eof {
        return;
    }
    let fd = env.pipe.get_ref().as_raw_fd();
    loop {
        into.reserve(READ_CHUNK);
        let spare = into.spare_capacity_mut();
        let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), spare.len()) };
        if n > 0 {
            unsafe { into.set_len(into.len() + n as usize) };
        } else {
            if n == 0 {
                env.pipe_eof = true;
            }
            return;
        }
    }
}

/// Wait until the pipe may be read (never, once it is at its end).
async fn pipe_ready(pipe: &tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>, eof: bool) {
    if eof {
        return std::future::pending().await;
    }
    if let Ok(mut guard) = pipe.readable().await {
        guard.clear_ready();
    }
}

enum Wait {
    Result { request_id: String, error: Option<String>, body: Vec<u8> },
    Eof,
    Other,
    TimedOut,
    Overflow,
}

/// Until the runtime's result for `request_id`, reading its output meanwhile.
async fn result_of(env: &mut Env, request_id: &str, deadline: Instant, output: &mut Vec<u8>, cap: usize,
                   max_response: usize) -> Wait {
    let mut continued = false;
    let recall = env.recall.clone();
    loop {
        match env.channel.parse(&env.rbuf, max_response) {
            Frame::Result { used, request_id: id, error, body } => {
                if id != request_id {
                    if !env.channel.drops_strays() {
                        return Wait::Other; // Python refuses it (400), and waits for the right one
                    }
                    env.rbuf.drain(..used); // not this invocation's: ignored, as Python ignores it
                    continue;
                }
                if error.is_some() && body.is_empty() {
                    return Wait::Other; // an error without a document: Python writes one
                }
                env.rbuf.drain(..used);
                return Wait::Result { request_id: id, error, body };
            }
            Frame::Continue if !continued => {
                continued = true;
                let interim = env.sock.write_all(runtime_http::CONTINUE);
                if !matches!(timeout_at(deadline.into(), interim).await, Ok(Ok(()))) {
                    return Wait::Eof;
                }
            }
            Frame::NeedMore | Frame::Continue => {}
            Frame::Next { .. } | Frame::Other => return Wait::Other,
        }
        if output.len() > cap {
            return Wait::Overflow;
        }
        tokio::select! {
            read = read_more(&mut env.sock, &mut env.rbuf) => match read {
                Ok(0) | Err(_) => return Wait::Eof,
                Ok(_) => {}
            },
            _ = pipe_ready(&env.pipe, env.pipe_eof) => read_pipe(env, output),
            _ = sleep_until(deadline.into()) => return Wait::TimedOut,
            _ = recall.notified() => return Wait::Other,
        }
    }
}

/// After the result: until the runtime asks for its next event (its `N`), at most `turnaround`.
async fn next_of(env: &mut Env, turnaround: Duration, output: &mut Vec<u8>, cap: usize) -> (bool, bool) {
    let deadline = Instant::now() + turnaround;
    let recall = env.recall.clone();
    loop {
        match env.channel.parse(&env.rbuf, 0) {
            Frame::Next { used } => {
                env.rbuf.drain(..used);
                return (true, false);
            }
            Frame::NeedMore => {}
            _ => return (false, false),
        }
        if output.len() > cap {
            return (false, false);
        }
        tokio::select! {
            read = read_more(&mut env.sock, &mut env.rbuf) => match read {
                Ok(0) | Err(_) => return (false, true),
                Ok(_) => {}
            },
            _ = pipe_ready(&env.pipe, env.pipe_eof) => read_pipe(env, output),
            _ = sleep_until(deadline.into()) => return (false, false),
            _ = recall.notified() => return (false, false),
        }
    }
}

/// An error document's ``errorType`` (as runtime/api.py's ``_error_type`` reads it).
fn error_type_of(body: &[u8]) -> Option<String> {
    if body.len() > INLINE_BYTES {
        return None;
    }
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    match doc.get("errorType") {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// What one invocation carries into its environment.
pub struct Invocation {
    pub request_id: String,
    pub payload: Vec<u8>,
    /// The ARN as invoked (None: the one the environment was lent with).
    pub arn: Option<String>,
    pub client_context: Option<Vec<u8>>,
}

/// Who waits for an invocation: a client of the plane's, answered here, or Python, which takes
/// the result from the completion (or the invocation given back) by its token.
enum Caller<'a> {
    Client { client: &'a mut TcpStream, request: &'a Invoke, raw: (Vec<u8>, Vec<u8>), peer: &'a str },
    Python { token: u64 },
}

/// One invocation in a lent environment, its answer written to the client (or, Python's, queued
/// with its completion).
async fn run(shared: &Arc<Shared>, mut env: Env, invocation: Invocation, caller: Caller<'_>) -> Step {
    let config = &shared.config;
    env.started += 1;
    let start = wall();
    let deadline_ms = (start * 1000.0) as u64 + env.timeout.as_millis() as u64;
    let Invocation { request_id, payload, arn, client_context } = invocation;
    let trace_id = ids::trace_id(start as u64, env.sampled);
    let mut before = Vec::new();
    read_pipe(&mut env, &mut before);
    let arn = arn.as_deref().unwrap_or(&env.arn);
    let event = env.channel.event(&request_id, deadline_ms, arn, &trace_id, client_context.as_deref(), &payload);
    drop(payload);
    let started = Instant::now();
    let deadline = started + env.timeout;
    let mut output = Vec::new();
    let written = matches!(timeout_at(deadline.into(), env.sock.write_all(&event)).await, Ok(Ok(())));
    drop(event);
    let waited = if written {
        result_of(&mut env, &request_id, deadline, &mut output, config.output_cap, config.max_response).await
    } else {
        Wait::Eof
    };
    let (request_id_done, error, body) = match waited {
        Wait::Result { request_id, error, body } => (request_id, error, body),
        _ => {
            // Not the common case: the environment and the invocation go to Python, which ends it
            // as it ends its own and answers the client.
            read_pipe(&mut env, &mut output);
            let id = env.id;
            shared.state().envs.remove(&id);
            shared.counts.given_back.fetch_add(1, Ordering::Relaxed);
            let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
            let returned = give_back(env, false);
            let (client, close, token, answer, request, peer) = match caller {
                Caller::Client { client, request, raw, peer } => {
                    let (token, answer) = shared.ask();
                    (Some(client), request.close, token, Some(answer), (!written).then_some(raw), peer.to_owned())
                }
                // Never written: an empty request says so (Python runs it elsewhere).
                Caller::Python { token } => (None, false, token, None, (!written).then(|| (Vec::new(), Vec::new())),
                                             String::new()),
            };
            shared.push(Event::Back {
                env: id, token, request_id, start, elapsed_ms, deadline_ms, trace_id, before, output, returned, close,
                request, peer,
            });
            let (Some(client), Some(answer)) = (client, answer) else { return Step::Next };
            return match answer.await.ok().flatten() {
                Some(bytes) => write_answer(client, &bytes, close).await,
                None => Step::Close, // nothing to answer with: the client sees the connection end
            };
        }
    };
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let accepted = env.channel.accepted();
    if !accepted.is_empty() {
        // Unwritten, the runtime asks for no next event: the environment goes back with the completion.
        let turnaround = Instant::now() + config.turnaround;
        let _ = timeout_at(turnaround.into(), env.sock.write_all(accepted)).await;
    }
    let error = error.map(|e| if e.is_empty() { error_type_of(&body).unwrap_or_else(|| "Runtime.Unknown".into()) } else { e });
    let (answer, ran) = match &caller {
        Caller::Client { request, .. } => {
            let answer = http::answer(&request_id_done, &env.version, error.is_some(), &body, &shared.date(),
                                      &config.server, request.close);
            (Some(answer), None)
        }
        Caller::Python { token } => (None, Some((*token, body))),
    };
    // Answered once the runtime asked for its next event (usually read with its result), as the
    // Python path answers: a client's next request then finds the environment idle, not finishing
    // (which would make it a miss, and a cold start, for no reason).
    let (waiting, eof) = next_of(&mut env, config.turnaround, &mut output, config.output_cap).await;
    read_pipe(&mut env, &mut output);
    let id = env.id;
    let returned = {
        let mut state = shared.state();
        let keep = waiting && !is_closing(shared)
            && state.envs.get(&id).is_some_and(|meta| !meta.reclaim);
        if keep {
            if let Some(meta) = state.envs.get_mut(&id) {
                meta.busy = false;
                meta.last_used = Instant::now();
            }
            let lane = env.lane.clone();
            state.lanes.entry(lane).or_default().push(env);
            None
        } else {
            state.envs.remove(&id);
            Some(env)
        }
    };
    shared.push(Event::Done {
        env: id, request_id: request_id_done, start, duration_ms, error, before, output,
        returned: returned.map(|env| give_back(env, waiting)), eof, ran,
    });
    if let (Caller::Client { client, .. }, Some(answer)) = (caller, answer) {
        if client.write_all(&answer).await.is_err() {
            return Step::Close;
        }
    }
    Step::Next
}
