//! `lamina_native.DataPlane`: the Python face of the native data plane (src/plane/): argument
//! conversion, the plane's thread, and Python's calls into its state.

use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::plane::{self, dup, give_back, lane_key, permit_key, Channel, Config, Env, Event, Meta, Permit, Returned, Shared};

#[pyclass(frozen, module = "lamina_native")]
pub struct DataPlane {
    shared: Arc<Shared>,
    handle: tokio::runtime::Handle,
    wake: OwnedFd,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

fn returned<'py>(py: Python<'py>, r: Returned) -> PyResult<Bound<'py, PyAny>> {
    (r.fd, PyBytes::new(py, &r.data), r.waiting).into_bound_py_any(py)
}

#[pymethods]
impl DataPlane {
    #[new]
    #[pyo3(signature = (listener_fd, *, region, verify, payload_limit, max_response, header_timeout,
                        body_timeout, turnaround, output_cap, server))]
    #[allow(clippy::too_many_arguments)]
    fn new(listener_fd: i32, region: String, verify: bool, payload_limit: usize, max_response: usize,
           header_timeout: f64, body_timeout: f64, turnaround: f64, output_cap: usize, server: String)
           -> PyResult<Self> {
        let config = Config {
            region, verify, payload_limit, max_response, output_cap, server,
            header_timeout: Duration::from_secs_f64(header_timeout),
            body_timeout: Duration::from_secs_f64(body_timeout),
            turnaround: Duration::from_secs_f64(turnaround),
        };
        let mut fds = [0; 2];
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(PyOSError::new_err(std::io::Error::last_os_error().to_string()));
        }
        let (wake_read, wake_write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let listener = dup(listener_fd).map_err(|e| PyOSError::new_err(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| PyOSError::new_err(e.to_string()))?;
        let handle = runtime.handle().clone();
        let shared = Arc::new(Shared::new(config, wake_write));
        let std_listener = std::net::TcpListener::from(listener);
        std_listener.set_nonblocking(true).map_err(|e| PyOSError::new_err(e.to_string()))?;
        let listener = {
            let _entered = handle.enter();
            tokio::net::TcpListener::from_std(std_listener).map_err(|e| PyOSError::new_err(e.to_string()))?
        };
        let task_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("lamina-dataplane".into())
            .spawn(move || {
                let mut closing = task_shared.closing.subscribe();
                runtime.spawn(plane::serve::accept(task_shared.clone(), listener));
                runtime.block_on(async move {
                    plane::serve::until(&mut closing, true).await;
                    // Connections finish what they answer; then the thread ends with its runtime.
                    while task_shared.counts.in_flight.load(Ordering::Relaxed) > 0
                        || !task_shared.state().answers.is_empty()
                    {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                });
                runtime.shutdown_timeout(Duration::from_millis(100));
            })
            .map_err(|e| PyOSError::new_err(e.to_string()))?;
        Ok(DataPlane { shared, handle, wake: wake_read, thread: Mutex::new(Some(thread)) })
    }

    /// The wake pipe's read end: readable when events wait (``take``).
    fn fileno(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.wake.as_raw_fd()
    }

    /// The events queued since the last call, as tuples (lamina_native.pyi says which).
    fn take<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        use std::os::fd::AsRawFd;
        let mut sink = [0u8; 256];
        while unsafe { libc::read(self.wake.as_raw_fd(), sink.as_mut_ptr().cast(), sink.len()) } > 0 {}
        let mut out = Vec::new();
        for event in self.shared.take() {
            let item = match event {
                Event::Conn { fd, data } => ("conn", fd, PyBytes::new(py, &data)).into_bound_py_any(py)?,
                Event::Renew { peer, access_key_id, region, function, qualifier } => {
                    ("renew", access_key_id, region, function, qualifier, peer).into_bound_py_any(py)?
                }
                Event::Miss { token, head, body, close, peer } => {
                    ("miss", token, PyBytes::new(py, &head), PyBytes::new(py, &body), close, peer).into_bound_py_any(py)?
                }
                Event::Done { env, request_id, start, duration_ms, error, before, output, returned: r, eof, ran } => {
                    let r = match r {
                        Some(r) => returned(py, r)?,
                        None => py.None().into_bound(py),
                    };
                    let mut items = match &ran {
                        None => vec!["done".into_bound_py_any(py)?],
                        Some((token, body)) => vec!["ran".into_bound_py_any(py)?, token.into_bound_py_any(py)?,
                                                    PyBytes::new(py, body).into_any()],
                    };
                    items.extend([
                        env.into_bound_py_any(py)?, request_id.into_bound_py_any(py)?,
                        start.into_bound_py_any(py)?, duration_ms.into_bound_py_any(py)?, error.into_bound_py_any(py)?,
                        PyBytes::new(py, &before).into_any(), PyBytes::new(py, &output).into_any(), r,
                        eof.into_bound_py_any(py)?,
                    ]);
                    PyTuple::new(py, items)?.into_any()
                }
                Event::Back { env, token, request_id, start, elapsed_ms, deadline_ms, trace_id, before, output,
                              returned: r, close, request, peer } => {
                    let request = match request {
                        Some((head, body)) => (PyBytes::new(py, &head), PyBytes::new(py, &body)).into_bound_py_any(py)?,
                        None => py.None().into_bound(py),
                    };
                    PyTuple::new(py, [
                        "back".into_bound_py_any(py)?, env.into_bound_py_any(py)?, token.into_bound_py_any(py)?,
                        request_id.into_bound_py_any(py)?, start.into_bound_py_any(py)?,
                        elapsed_ms.into_bound_py_any(py)?, deadline_ms.into_bound_py_any(py)?,
                        trace_id.into_bound_py_any(py)?, PyBytes::new(py, &before).into_any(),
                        PyBytes::new(py, &output).into_any(), returned(py, r)?, close.into_bound_py_any(py)?, request,
                        peer.into_bound_py_any(py)?,
                    ])?.into_any()
                }
            };
            out.push(item);
        }
        Ok(out)
    }

    /// The answer to a request Python was told of (a miss, an invocation given back); None: hand
    /// the connection to Python with the request. False if the client has gone.
    #[pyo3(signature = (token, data))]
    fn answer(&self, token: u64, data: Option<&[u8]>) -> bool {
        match self.shared.state().answers.remove(&token) {
            Some(tx) => tx.send(data.map(<[u8]>::to_vec)).is_ok(),
            None => false,
        }
    }

    /// Serve a connection Python handed over earlier and gives back (idle, nothing of it unread).
    fn adopt(&self, fd: i32) -> PyResult<()> {
        let sock = unsafe { std::net::TcpStream::from_raw_fd(fd) };
        if *self.shared.closing.borrow() {
            return Ok(()); // closed (dropped) with the plane
        }
        sock.set_nonblocking(true).map_err(|e| PyOSError::new_err(e.to_string()))?;
        let _entered = self.handle.enter();
        let stream = tokio::net::TcpStream::from_std(sock).map_err(|e| PyOSError::new_err(e.to_string()))?;
        self.shared.counts.adopted.fetch_add(1, Ordering::Relaxed);
        self.handle.spawn(plane::serve::connection(self.shared.clone(), stream));
        Ok(())
    }

    /// Lend an idle environment to ``lane``: its Runtime API connection (``sock_fd``, the runtime
    /// having asked for its next event; the plane owns it from now on), framed or (``http``)
    /// HTTP/1.1, and its output pipe's read end (``pipe_fd``, duplicated: Python keeps its own, and
    /// stops reading it). ValueError (the plane is closing): ``sock_fd`` is still the caller's;
    /// OSError: it is closed.
    #[pyo3(signature = (env_id, lane, sock_fd, pipe_fd, *, arn, version, timeout, sampled, retire_in, http=false))]
    #[allow(clippy::too_many_arguments)]
    fn lend(&self, env_id: u64, lane: (String, String, String, String), sock_fd: i32, pipe_fd: i32, arn: String,
            version: String, timeout: f64, sampled: bool, retire_in: Option<f64>, http: bool) -> PyResult<()> {
        if *self.shared.closing.borrow() {
            return Err(PyValueError::new_err("the data plane is closing"));
        }
        // Owned from here on, whatever fails: an OSError means it is closed.
        let sock = unsafe { std::net::TcpStream::from_raw_fd(sock_fd) };
        let pipe = dup(pipe_fd).map_err(|e| PyOSError::new_err(e.to_string()))?;
        let _entered = self.handle.enter();
        sock.set_nonblocking(true).map_err(|e| PyOSError::new_err(e.to_string()))?;
        let sock = tokio::net::TcpStream::from_std(sock).map_err(|e| PyOSError::new_err(e.to_string()))?;
        // SAFETY: the duplicate is the plane's alone, closed only when the AsyncFd is dropped.
        let pipe = unsafe { tokio::io::unix::AsyncFd::register_with_interest(pipe, tokio::io::Interest::READABLE) }
            .map_err(|e| PyOSError::new_err(e.to_string()))?;
        let lane = lane_key(&lane.0, &lane.1, &lane.2, &lane.3);
        let recall = Arc::new(tokio::sync::Notify::new());
        let channel = if http { Channel::Http } else { Channel::Framed };
        let env = Env {
            id: env_id, lane: lane.clone(), channel, sock, pipe, pipe_eof: false, arn, version,
            timeout: Duration::from_secs_f64(timeout), sampled, rbuf: Vec::new(), recall: recall.clone(),
            retire_at: retire_in.map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0))), started: 0,
        };
        let mut state = self.shared.state();
        self.shared.counts.lent.fetch_add(1, Ordering::Relaxed);
        state.envs.insert(env_id, Meta { busy: false, reclaim: false, last_used: Instant::now(), recall });
        state.lanes.entry(lane).or_default().push(env);
        Ok(())
    }

    /// Run an invocation Python started in an idle environment lent to ``lane``, if the lane has
    /// one that may take it: its token (the completion, ``ran``, or the invocation given back,
    /// ``back``, carries it), else None (Python runs it itself). ``arn``: as invoked.
    #[pyo3(signature = (lane, request_id, payload, *, arn, client_context=None))]
    fn run(&self, lane: (String, String, String, String), request_id: String, payload: &[u8], arn: String,
           client_context: Option<&[u8]>) -> Option<u64> {
        if *self.shared.closing.borrow() {
            return None;
        }
        let env = self.shared.take_idle(&lane_key(&lane.0, &lane.1, &lane.2, &lane.3))?;
        let token = self.shared.token();
        self.shared.counts.ran.fetch_add(1, Ordering::Relaxed);
        self.shared.counts.in_flight.fetch_add(1, Ordering::Relaxed);
        let invocation = plane::serve::Invocation {
            request_id, payload: payload.to_vec(), arn: Some(arn), client_context: client_context.map(<[u8]>::to_vec),
        };
        self.handle.spawn(plane::serve::run_for_python(self.shared.clone(), env, token, invocation));
        Some(token)
    }

    /// Take a lent environment back: an idle one at once (its connection: descriptor, unread
    /// bytes, whether the runtime waits), a busy one once its invocation is over (its completion
    /// brings it back) or, ``now``, at once with its invocation (given back), then None; None too
    /// for one not lent.
    #[pyo3(signature = (env_id, *, now=false))]
    fn reclaim<'py>(&self, py: Python<'py>, env_id: u64, now: bool) -> PyResult<Option<Bound<'py, PyAny>>> {
        let env = {
            let _entered = self.handle.enter();
            let mut state = self.shared.state();
            let Some(meta) = state.envs.get_mut(&env_id) else { return Ok(None) };
            if !meta.reclaim {
                self.shared.counts.reclaimed.fetch_add(1, Ordering::Relaxed);
            }
            if meta.busy {
                meta.reclaim = true;
                if now {
                    meta.recall.notify_one();
                }
                return Ok(None);
            }
            state.envs.remove(&env_id);
            let mut found = None;
            for idle in state.lanes.values_mut() {
                if let Some(at) = idle.iter().position(|env| env.id == env_id) {
                    found = Some(idle.swap_remove(at));
                    break;
                }
            }
            state.lanes.retain(|_, idle| !idle.is_empty());
            found
        };
        match env {
            Some(env) => {
                let _entered = self.handle.enter();
                let started = env.started;
                let r = give_back(env, true);
                Ok(Some((r.fd, PyBytes::new(py, &r.data), r.waiting, started).into_bound_py_any(py)?))
            }
            None => Ok(None),
        }
    }

    /// The lent environments idle here whose runtime closed its end or sent what was not asked
    /// for: it is exiting (a framed runtime that ends between invocations shuts its side and waits
    /// for the server to close), or broken. Python takes them back and ends them as its own.
    fn unsettled(&self) -> Vec<u64> {
        use std::os::fd::AsRawFd;
        let state = self.shared.state();
        let mut found = Vec::new();
        for env in state.lanes.values().flatten() {
            let mut byte = [0u8; 1];
            // SAFETY: a one-byte peek into a buffer of one byte, on a descriptor the environment owns.
            let read = unsafe {
                libc::recv(env.sock.as_raw_fd(), byte.as_mut_ptr().cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT)
            };
            let quiet = read < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::WouldBlock;
            if !quiet || !env.rbuf.is_empty() {
                found.push(env.id);
            }
        }
        found
    }

    /// How long a lent environment has been idle, in seconds (None: busy, or not lent).
    fn idle_for(&self, env_id: u64) -> Option<f64> {
        let state = self.shared.state();
        let meta = state.envs.get(&env_id)?;
        (!meta.busy).then(|| meta.last_used.elapsed().as_secs_f64())
    }

    /// Let a caller run a lane natively: the requests from the address ``peer`` signed with ``access_key_id`` (with its
    /// ``secret`` and session ``token``: "" with signatures not verified) for ``region``,
    /// ``function`` and ``qualifier`` ("": none) run in ``lane`` for ``ttl`` seconds, or until the
    /// key expires (``key_expires``, seconds since the epoch). Refused (False) if the epoch it was
    /// decided in (``epoch``) has passed.
    #[pyo3(signature = (peer, access_key_id, region, function, qualifier, lane, *, secret, token, key_expires, ttl, epoch))]
    #[allow(clippy::too_many_arguments)]
    fn permit(&self, peer: &str, access_key_id: &str, region: &str, function: &str, qualifier: &str,
              lane: (String, String, String, String), secret: String, token: Option<String>,
              key_expires: Option<f64>, ttl: f64, epoch: u64) -> bool {
        let mut state = self.shared.state();
        // Read under the lock a revocation takes too: a permit decided before it is refused.
        if self.shared.epoch.load(Ordering::SeqCst) != epoch {
            return false;
        }
        state.permits.insert(permit_key(peer, access_key_id, region, function, qualifier), Permit {
            lane: lane_key(&lane.0, &lane.1, &lane.2, &lane.3), secret, token, key_expires,
            until: Instant::now() + Duration::from_secs_f64(ttl), ttl: Duration::from_secs_f64(ttl), renewing: false,
        });
        true
    }

    /// The current epoch: a permit is granted only in the epoch it was decided in.
    fn epoch(&self) -> u64 {
        self.shared.epoch.load(Ordering::SeqCst)
    }

    /// Void every permit at once (a write that could change a decision happened).
    fn revoke(&self) {
        let mut state = self.shared.state();
        self.shared.epoch.fetch_add(1, Ordering::SeqCst);
        state.permits.clear();
    }

    /// (served natively, misses, connections handed over, invocations given back, in flight,
    /// connections given back by Python, environments lent, lent ones reclaimed, invocations
    /// Python started that ran here).
    fn counts(&self) -> (u64, u64, u64, u64, u64, u64, u64, u64, u64) {
        let c = &self.shared.counts;
        let n = |count: &std::sync::atomic::AtomicU64| count.load(Ordering::Relaxed);
        (n(&c.served), n(&c.missed), n(&c.handed_over), n(&c.given_back), n(&c.in_flight), n(&c.adopted), n(&c.lent),
         n(&c.reclaimed), n(&c.ran))
    }

    /// Stop accepting, close idle connections, and let those answering finish; the plane's thread
    /// ends once nothing is in flight (``join``).
    fn close(&self) {
        self.shared.accepting.send_replace(false);
        self.shared.closing.send_replace(true);
    }

    /// Wait for the plane's thread to end (after ``close``), at most ``timeout`` seconds; True if it did.
    fn join(&self, py: Python<'_>, timeout: f64) -> bool {
        let until = Instant::now() + Duration::from_secs_f64(timeout);
        loop {
            let finished = self.thread.lock().map(|t| t.as_ref().is_none_or(|h| h.is_finished())).unwrap_or(true);
            if finished {
                if let Ok(mut thread) = self.thread.lock() {
                    if let Some(handle) = thread.take() {
                        let _ = handle.join();
                    }
                }
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            py.detach(|| std::thread::sleep(Duration::from_millis(5)));
        }
    }
}
