//! The native data plane for warm Invokes (`lamina_native.DataPlane`; docs/architecture.md,
//! "The two planes").
//!
//! It owns the public listener (Python binds it and hands over its descriptor) on a thread of its
//! own running tokio. A connection starts here: a plain synchronous Invoke (`http.rs`) with a
//! permit for its caller and lane (`verify.rs`) and an idle environment lent to that lane is
//! served entirely here (`serve.rs`); any other request hands the connection to Python for good;
//! a plain Invoke it cannot serve is a miss, which Python answers (the bytes are written here).
//! What Python must hear of is queued as events, which it takes in batches when the wake pipe
//! (`fileno`) is readable: connections handed over, misses, completions (a native invocation's
//! bookkeeping: START, output, END, REPORT, usage), and environments given back mid-invocation
//! (a timeout, a crash, anything unusual), whose client Python answers.

pub mod context;
pub mod frames;
pub mod http;
pub mod ids;
pub mod runtime_http;
pub mod serve;
pub mod verify;

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::unix::AsyncFd;
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch, Notify};

/// What the plane is told once, at its start.
pub struct Config {
    pub region: String,
    pub verify: bool,
    pub payload_limit: usize,
    pub max_response: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub turnaround: Duration,
    pub output_cap: usize,
    pub server: String,
}

/// How a lent environment's runtime speaks the Runtime API on its connection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Channel {
    /// Lamina's framed encoding (`frames.rs`): results and `next` unanswered but by events.
    Framed,
    /// HTTP/1.1 (`runtime_http.rs`): every request answered, results with a 202.
    Http,
}

impl Channel {
    /// The first request (or frame) of `buf`, read as `frames::Frame`.
    pub fn parse(self, buf: &[u8], max_payload: usize) -> frames::Frame {
        match self {
            Channel::Framed => frames::parse(buf, max_payload),
            Channel::Http => runtime_http::parse(buf, max_payload),
        }
    }

    /// An event, as the runtime is handed it.
    pub fn event(self, request_id: &str, deadline_ms: u64, function_arn: &str, trace_id: &str,
                 client_context: Option<&[u8]>, payload: &[u8]) -> Vec<u8> {
        match self {
            Channel::Framed => frames::event(request_id, deadline_ms, function_arn, trace_id, client_context, payload),
            Channel::Http => runtime_http::event(request_id, deadline_ms, function_arn, trace_id, client_context, payload),
        }
    }

    /// What answers a result: Python's 202 over HTTP, nothing in frames.
    pub fn accepted(self) -> &'static [u8] {
        match self {
            Channel::Framed => b"",
            Channel::Http => runtime_http::ACCEPTED,
        }
    }

    /// Whether a result for another request id is dropped here (frames: Python ignores it too)
    /// rather than given back to Python (HTTP: Python answers it with a 400).
    pub fn drops_strays(self) -> bool {
        self == Channel::Framed
    }
}

/// An environment lent by Python: its Runtime API connection (the runtime waits for an event),
/// a duplicate of its output pipe's read end, and what its events carry.
pub struct Env {
    pub id: u64,
    pub lane: String,
    pub channel: Channel,
    pub sock: TcpStream,
    pub pipe: AsyncFd<OwnedFd>,
    pub pipe_eof: bool,
    pub arn: String,
    pub version: String,
    pub timeout: Duration,
    pub sampled: bool,
    /// Past it, its credentials' time is up: it takes no invocation (the pool's reaper takes it back).
    pub retire_at: Option<Instant>,
    pub rbuf: Vec<u8>,
    /// Notified when Python wants it back at once, mid-invocation (its runtime opened another
    /// connection, which Python serves): the invocation goes back with it.
    pub recall: Arc<Notify>,
    /// How many invocations the plane started in it: Python, taking it back idle, waits for as many
    /// completions (the last may still be on its way) before it runs anything there.
    pub started: u64,
}

/// Where a lent environment is.
pub struct Meta {
    pub busy: bool,
    pub reclaim: bool,
    pub last_used: Instant,
    pub recall: Arc<Notify>,
}

pub struct Permit {
    pub lane: String,
    pub secret: String,
    pub token: Option<String>,
    pub until: Instant,
    pub ttl: Duration,
    pub key_expires: Option<f64>,
    /// Python was asked to renew it (once it has less than a third of its time left).
    pub renewing: bool,
}

/// An environment's connection given back to Python: its descriptor, what was read from it and
/// not used, and whether the runtime waits for an event (its `N`, or `GET next`, was read).
pub struct Returned {
    pub fd: RawFd,
    pub data: Vec<u8>,
    pub waiting: bool,
}

pub enum Event {
    Conn { fd: RawFd, data: Vec<u8> },
    /// A permit in use nears its end: Python decides again whether the key may go on.
    Renew { peer: String, access_key_id: String, region: String, function: String, qualifier: String },
    Miss { token: u64, head: Vec<u8>, body: Vec<u8>, close: bool, peer: String },
    /// `ran`: an invocation Python started (`DataPlane.run`): its token and the result's bytes.
    Done {
        env: u64, request_id: String, start: f64, duration_ms: f64, error: Option<String>, before: Vec<u8>,
        output: Vec<u8>, returned: Option<Returned>, eof: bool, ran: Option<(u64, Vec<u8>)>,
    },
    Back {
        env: u64, token: u64, request_id: String, start: f64, elapsed_ms: f64, deadline_ms: u64, trace_id: String,
        before: Vec<u8>, output: Vec<u8>, returned: Returned, close: bool, request: Option<(Vec<u8>, Vec<u8>)>,
        peer: String,
    },
}

#[derive(Default)]
pub struct State {
    pub lanes: HashMap<String, Vec<Env>>,
    pub envs: HashMap<u64, Meta>,
    pub permits: HashMap<String, Permit>,
    pub answers: HashMap<u64, oneshot::Sender<Option<Vec<u8>>>>,
}

#[derive(Default)]
pub struct Counts {
    pub served: AtomicU64,
    pub missed: AtomicU64,
    pub handed_over: AtomicU64,
    pub given_back: AtomicU64,
    pub in_flight: AtomicU64,
    pub adopted: AtomicU64,
    /// Environments lent by Python, taken back by it (`reclaim` of a lent one), and invocations
    /// Python started that ran here (`DataPlane.run`): a lend and a reclaim per invocation would
    /// show here as churn.
    pub lent: AtomicU64,
    pub reclaimed: AtomicU64,
    pub ran: AtomicU64,
}

pub struct Shared {
    pub config: Config,
    pub state: Mutex<State>,
    events: Mutex<Vec<Event>>,
    wake: OwnedFd,
    pub epoch: AtomicU64,
    pub closing: watch::Sender<bool>,
    pub accepting: watch::Sender<bool>,
    pub counts: Counts,
    next_token: AtomicU64,
    date: Mutex<(u64, String)>,
}

/// A permit is the client address's as well as the key's: IAM's decision may depend on where a
/// request comes from (aws:SourceIp), so it holds only for the address it was decided for.
pub fn permit_key(peer: &str, access_key_id: &str, region: &str, function: &str, qualifier: &str) -> String {
    format!("{peer}\n{access_key_id}\n{region}\n{function}\n{qualifier}")
}

pub fn lane_key(account: &str, region: &str, function: &str, qualifier: &str) -> String {
    format!("{account}\n{region}\n{function}\n{qualifier}")
}

impl Shared {
    pub fn new(config: Config, wake: OwnedFd) -> Self {
        Shared {
            config,
            state: Mutex::new(State::default()),
            events: Mutex::new(Vec::new()),
            wake,
            epoch: AtomicU64::new(1),
            closing: watch::channel(false).0,
            accepting: watch::channel(true).0,
            counts: Counts::default(),
            next_token: AtomicU64::new(1),
            date: Mutex::new((0, String::new())),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queue `event` for Python, waking it when the queue was empty.
    pub fn push(&self, event: Event) {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        events.push(event);
        if events.len() == 1 {
            // A full pipe already wakes Python: a failed write loses nothing.
            unsafe { libc::write(self.wake.as_raw_fd(), b"!".as_ptr().cast(), 1) };
        }
    }

    /// How many events wait for Python.
    pub fn backlog(&self) -> usize {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Ask Python for the answer to a request it is told of; None: hand the connection over.
    pub fn ask(&self) -> (u64, oneshot::Receiver<Option<Vec<u8>>>) {
        let token = self.token();
        let (tx, rx) = oneshot::channel();
        self.state().answers.insert(token, tx);
        (token, rx)
    }

    /// A token no other request or invocation has.
    pub fn token(&self) -> u64 {
        self.next_token.fetch_add(1, Ordering::Relaxed)
    }

    /// An idle environment of `lane` that may take an invocation now (not past its retirement),
    /// marked busy; None if the lane has none.
    pub fn take_idle(&self, lane: &str) -> Option<Env> {
        let mut state = self.state();
        let idle = state.lanes.get_mut(lane)?;
        let now = Instant::now();
        let at = idle.iter().rposition(|env| env.retire_at.is_none_or(|at| now < at))?;
        let env = idle.swap_remove(at);
        if let Some(meta) = state.envs.get_mut(&env.id) {
            meta.busy = true;
        }
        Some(env)
    }

    pub fn date(&self) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let mut cached = self.date.lock().unwrap_or_else(|p| p.into_inner());
        if cached.0 != now {
            *cached = (now, http::http_date(now));
        }
        cached.1.clone()
    }
}

/// Seconds since the epoch, now.
pub fn wall() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64()
}

/// An environment's socket and what was read from it, for Python.
pub fn give_back(env: Env, waiting: bool) -> Returned {
    let Env { sock, rbuf, .. } = env;
    let fd = match sock.into_std() {
        Ok(std) => std.into_raw_fd(),
        Err(_) => -1,
    };
    Returned { fd, data: rbuf, waiting }
}

/// A descriptor duplicated (close-on-exec): the caller keeps its own.
pub fn dup(fd: RawFd) -> std::io::Result<OwnedFd> {
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if copy < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}
