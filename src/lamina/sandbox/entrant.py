"""The one thread that makes new network namespaces, and the way it gets back out of them.

A network namespace is a property of a thread, and a socket belongs for good to the namespace of the
thread that created it. So a thread can step into a new namespace (``unshare(CLONE_NEWNET)``),
create sockets there (listeners, a netlink socket that configures it), and step back into the
host's (``setns``): the sockets stay inside, usable from any thread. Only this thread ever leaves
the host's namespace, and only inside ``Entrant.new_namespace()``.

Failing closed: a thread that cannot get back (``setns`` refused, or it finds itself elsewhere
afterwards) must never run another job, since everything it created next would land in a namespace
of a tenant. Its job fails with ``Stranded``, it fails every job queued behind it, and it ends;
the next ``submit`` starts a fresh thread from the caller's (the host's) namespace, since a new
thread starts in the namespace of the thread that creates it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

CLONE_NEWNET = 0x40000000
T = TypeVar("T")
_Jobs = queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None]

_libc = ctypes.CDLL(None, use_errno=True)


class Stranded(OSError):
    """The thread could not return to the host's network namespace; it runs nothing more."""


def namespace_inode(path: str) -> int:
    return os.stat(path).st_ino


class Entrant:
    """Runs jobs one at a time on a thread of its own (see the module docstring).

    ``host_fd`` is an open descriptor of the namespace to return to (the caller's, opened from
    ``/proc/thread-self/ns/net``); it stays the caller's to close, after ``stop``.
    """

    def __init__(self, host_fd: int, name: str = "lamina-netns") -> None:
        self._host_fd = host_fd
        self._host_inode = os.fstat(host_fd).st_ino
        self._name = name
        self._lock = threading.Lock()
        self._jobs: _Jobs | None = None
        self._threads: list[threading.Thread] = []

    def submit(self, job: Callable[[], T]) -> asyncio.Future[T]:
        """Run ``job`` on the thread; await the result. Jobs run in the order they were submitted."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            if self._jobs is None:
                self._jobs = queue.SimpleQueue()
                thread = threading.Thread(target=self._run, args=(self._jobs,), name=self._name, daemon=True)
                thread.start()
                self._threads.append(thread)
            self._jobs.put((job, future))
        return asyncio.wrap_future(future)

    def stop(self) -> list[threading.Thread]:
        """Let the thread end after the jobs already submitted; the threads to join, if the caller
        wants to wait for them. ``submit`` afterwards starts a new thread."""
        with self._lock:
            if self._jobs is not None:
                self._jobs.put(None)
                self._jobs = None
            threads, self._threads = self._threads, []
        return threads

    @contextmanager
    def new_namespace(self) -> Iterator[int]:
        """Inside a job: step into a new network namespace for the ``with`` block, whose value is an
        open descriptor of it (the caller's to close). Back in the host's namespace afterwards, or
        ``Stranded``."""
        if _libc.unshare(CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"unshare(CLONE_NEWNET): {os.strerror(err)}")
        try:
            yield os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        finally:
            self._return()

    @contextmanager
    def inside(self, fd: int) -> Iterator[None]:
        """Inside a job: step into the existing network namespace ``fd`` for the ``with`` block (to
        create a socket there). Back in the host's namespace afterwards, or ``Stranded``."""
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns(CLONE_NEWNET): {os.strerror(err)}")
        try:
            yield
        finally:
            self._return()

    def _return(self) -> None:
        if _libc.setns(self._host_fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise Stranded(err, f"setns back to the host's network namespace: {os.strerror(err)}")
        if namespace_inode("/proc/thread-self/ns/net") != self._host_inode:
            raise Stranded("setns returned, but this thread is not in the host's network namespace")

    def _run(self, jobs: _Jobs) -> None:
        while (item := jobs.get()) is not None:
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except Stranded as exc:
                future.set_exception(exc)
                self._abandon(jobs, exc)
                return
            except BaseException as exc:  # the job's error is its caller's to handle
                future.set_exception(exc)

    def _abandon(self, jobs: _Jobs, exc: Stranded) -> None:
        """Fail what was queued behind the stranded job; the next ``submit`` starts a new thread."""
        with self._lock:
            if self._jobs is jobs:
                self._jobs = None
        while True:
            try:
                item = jobs.get_nowait()
            except queue.Empty:
                return
            if item is not None and item[1].set_running_or_notify_cancel():
                item[1].set_exception(Stranded(exc.errno or 0, "the network namespace thread was stranded"))
