"""Killable worker processes for untrusted CPU work, each call under a hard time limit.

    service process ──control socket──▶ zygote (started once; runs `prepare`: models, rules)
          ▲                               │ os.fork() per worker (copy-on-write: the loaded
          │ one socket per worker         ▼  models are shared, not loaded again)
          └──────────────────────────▶ worker 1 … worker N

Why processes and why a zygote:
- a page can make pure code run for minutes (a quadratic path nobody found yet, a regex
  that backtracks); a thread cannot be stopped, a process can. `WorkerPool.run` kills the
  worker when the call is over its time limit and forks a fresh one from the zygote in
  milliseconds, so the stream moves on;
- the zygote loads what the handler needs once; every worker is a fork of it, so N workers
  share the model memory instead of loading N copies, and a replaced worker is ready at once;
- the event loop of the service only moves bytes: heartbeats and commits never wait on CPU.

Lifetime: every process below the service dies with it, however the service died. The
zygote asks the kernel for SIGKILL when its parent dies (PR_SET_PDEATHSIG) and the
workers do the same for the zygote; both also watch their parent's pid, in case the
signal was missed. A worker whose socket closes exits too.

The handler contract: `prepare(*args)` runs in the zygote and returns a callable
`handler(payload) -> result`; payloads and results are pickled. An exception raised by the
handler comes back as `WorkFailed` (the data's fault, never retried); a worker that dies
mid-call raises `WorkerCrashed`; one over the limit raises `WorkTimedOut`.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import importlib
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from services.common.logs import get_logger

log = get_logger(__name__)

_HEADER = struct.Struct("!Q")
_PR_SET_PDEATHSIG = 1
_READY = b"ready"
# Workers watch their parent this often (seconds), in case PR_SET_PDEATHSIG was missed.
_PARENT_WATCH_INTERVAL = 1.0


class WorkError(Exception):
    """Base of what `WorkerPool.run` raises for one call."""


class WorkTimedOut(WorkError):
    """The call ran over the pool's time limit; its worker was killed and replaced."""


class WorkerCrashed(WorkError):
    """The worker process died during the call (killed, out of memory, a crash in native code)."""


class WorkFailed(WorkError):
    """The handler raised; `remote_type` and `remote_traceback` say what and where."""

    def __init__(self, remote_type: str, message: str, remote_traceback: str) -> None:
        super().__init__(f"{remote_type}: {message}")
        self.remote_type = remote_type
        self.message = message
        self.remote_traceback = remote_traceback

    def __reduce__(self) -> tuple[Any, ...]:
        return (WorkFailed, (self.remote_type, self.message, self.remote_traceback))


class PoolUnavailable(WorkError):
    """The zygote could not be started or could not fork a worker (its `prepare` failed)."""


# ---------------------------------------------------------------- framing (both sides)


def _send_frame(sock: socket.socket, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(data)) + data)


def _recv_exactly(sock: socket.socket, n: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(min(n - len(chunks), 1 << 20))
        if not chunk:
            return None
        chunks.extend(chunk)
    return bytes(chunks)


def _recv_frame(sock: socket.socket) -> Any:
    header = _recv_exactly(sock, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    data = _recv_exactly(sock, size)
    if data is None:
        return None
    return pickle.loads(data)


def resolve(path: str) -> Callable[..., Any]:
    """'package.module:function' → the function."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


# ---------------------------------------------------------------- zygote and worker side


def _die_with_parent(expected_parent: int) -> None:
    """SIGKILL this process when its parent dies; exit now if the parent is already gone."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent watch below still works
        pass
    if os.getppid() != expected_parent:
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(_PARENT_WATCH_INTERVAL)
            if os.getppid() != expected_parent:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _portable_error(exc: BaseException) -> WorkFailed:
    return WorkFailed(type(exc).__name__, str(exc)[:2000], traceback.format_exc(limit=8)[-4000:])


def _worker_main(conn: socket.socket, handler: Callable[[Any], Any], zygote_pid: int) -> None:
    """A forked worker: answer calls until the socket closes. Never returns."""
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _die_with_parent(zygote_pid)
        while True:
            payload = _recv_frame(conn)
            if payload is None:
                break
            try:
                reply: tuple[str, Any] = ("ok", handler(payload))
            except Exception as exc:  # noqa: BLE001 - every failure of the handler goes back to the caller
                reply = ("error", _portable_error(exc))
            try:
                _send_frame(conn, reply)
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                _send_frame(conn, ("error", _portable_error(exc)))
    except (OSError, EOFError):
        pass
    finally:
        os._exit(0)


def zygote_main(control_fd: int, service_pid: int, prepare_path: str, prepare_args: bytes) -> None:
    """The zygote: prepare once, then fork a worker per request on the control socket."""
    # One BLAS/OpenMP thread: parallelism comes from the worker processes, and a process
    # that forks must not hold other threads (a forked BLAS pool can deadlock).
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TOKENIZERS_PARALLELISM"):
        os.environ[name] = "1" if name != "TOKENIZERS_PARALLELISM" else "false"
    control = socket.socket(fileno=control_fd)
    _die_with_parent(service_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Children are reaped by the kernel; their death is seen by the service as a closed socket.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        handler = resolve(prepare_path)(*pickle.loads(prepare_args))
    except Exception:  # noqa: BLE001 - reported to the service, which refuses to start
        _send_frame(control, ("error", traceback.format_exc(limit=10)))
        os._exit(1)
    # Objects alive now are shared with every worker: keep the collector from touching
    # (and so copying) their pages in the children.
    gc.collect()
    gc.freeze()
    _send_frame(control, ("ok", os.getpid()))
    while True:
        command = _recv_frame(control)
        if command is None or command == "exit":
            os._exit(0)
        if command != "fork":
            continue
        ours, theirs = socket.socketpair()
        zygote_pid = os.getpid()  # before the fork: the child must compare with this, not with
        pid = os.fork()           # a getppid() that may already say the zygote is gone
        if pid == 0:
            ours.close()
            control.close()
            _worker_main(theirs, handler, zygote_pid)
        theirs.close()
        # A pid file descriptor names this very process, whatever later reuses its pid
        # (pid numbers wrap quickly on a busy machine): the service kills through it.
        pidfd = os.pidfd_open(pid)
        socket.send_fds(control, [_HEADER.pack(pid)], [ours.fileno(), pidfd])
        ours.close()
        os.close(pidfd)


# ---------------------------------------------------------------- service side


@dataclass
class _Worker:
    pid: int
    pidfd: int
    """Refers to this worker process only, even after its pid number is reused."""
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    calls: int = 0

    def kill(self) -> None:
        """SIGKILL through the pid file descriptor (never a stranger that got the pid); once."""
        if self.pidfd >= 0:
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass  # already gone
        self._release()

    def _release(self) -> None:
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1
        self.writer.close()

    async def kill_and_wait(self, timeout: float = 5.0) -> None:
        """SIGKILL, then wait until the process has exited (its pidfd turns readable).

        The signal is delivered asynchronously; waiting means a replaced worker never overlaps its
        successor, so the pool never holds one worker's memory twice.
        """
        pidfd = self.pidfd
        if pidfd < 0:
            self.kill()
            return
        exited = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(pidfd, exited.set)
        try:
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            except ProcessLookupError:
                exited.set()
            try:
                await asyncio.wait_for(exited.wait(), timeout)
            except asyncio.TimeoutError:
                pass  # uninterruptible sleep; the zygote reaps it whenever it goes
        finally:
            loop.remove_reader(pidfd)
            self._release()


@dataclass
class WorkerPool:
    """`size` worker processes forked from one zygote; `run(payload)` under `time_limit` seconds.

    `prepare` is 'module:function'; it runs once in the zygote with `prepare_args` (picklable)
    and returns the handler every worker calls. `start()` must be awaited before `run`
    (it waits until `prepare` finished, e.g. the models are loaded) and raises
    PoolUnavailable when `prepare` fails. Safe to call `run` from many tasks at once: calls
    wait for an idle worker, and the time limit starts when a worker takes the call.
    """

    name: str
    prepare: str
    prepare_args: tuple[Any, ...] = ()
    size: int = 1
    time_limit: float = 10.0
    start_timeout: float = 600.0
    recycle_after: int | None = None
    """Replace a worker by a fresh fork of the zygote after this many calls (None: never).
    Bounds what a worker accumulates call after call (caches, vocabularies, a fragmented
    heap) without touching the zygote's shared models; the call that reaches the count
    returns first, the replacement happens beside the next calls."""
    _zygote: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _control: socket.socket | None = field(default=None, init=False, repr=False)
    _control_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)
    _idle: asyncio.Queue[_Worker] | None = field(default=None, init=False, repr=False)
    _workers: dict[int, _Worker] = field(default_factory=dict, init=False, repr=False)
    _closed: bool = field(default=False, init=False, repr=False)
    _ready: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _failure: str | None = field(default=None, init=False, repr=False)
    replaced: int = field(default=0, init=False)
    """Workers killed or found dead and replaced since start (for metrics and tests)."""
    recycled: int = field(default=0, init=False)
    """Workers replaced after `recycle_after` calls."""
    _recycling: set[asyncio.Task[None]] = field(default_factory=set, init=False, repr=False)

    @property
    def pids(self) -> list[int]:
        return sorted(self._workers)

    @property
    def zygote_pid(self) -> int | None:
        return self._zygote.pid if self._zygote is not None else None

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self._failure is None

    def launch(self) -> None:
        """Start the zygote now, without waiting for it: its `prepare` (loading models) runs
        while the caller does other things, e.g. a service restoring its tables. Called from
        the thread that lives as long as the service (see `_launch_zygote`). `start()` then
        only waits for it. Calling it twice does nothing."""
        if self._zygote is None:
            self._launch_zygote()

    async def start(self) -> list[int]:
        """Start the zygote (unless `launch()` did) and the workers; returns the workers' pids.
        Raises PoolUnavailable."""
        idle: asyncio.Queue[_Worker] = asyncio.Queue()
        try:
            await self._start_zygote()
            for _ in range(self.size):
                idle.put_nowait(await self._fork())
        except PoolUnavailable as exc:
            self._failure = str(exc)
            raise
        finally:
            self._idle = idle
            self._ready.set()
        log.info("worker pool ready", pool=self.name, workers=self.pids, zygote=self.zygote_pid)
        return self.pids

    async def _start_zygote(self) -> None:
        if self._zygote is None:
            self._launch_zygote()
        ours = self._control
        assert ours is not None
        try:
            reply = await asyncio.wait_for(asyncio.to_thread(_recv_frame, ours), self.start_timeout)
        except asyncio.TimeoutError:
            self._stop_zygote()
            raise PoolUnavailable(f"{self.name}: the worker zygote did not get ready within {self.start_timeout:.0f} s") from None
        if reply is None or reply[0] != "ok":
            self._stop_zygote()
            detail = reply[1] if reply else "it exited"
            raise PoolUnavailable(f"{self.name}: preparing the workers failed: {detail}")

    def _launch_zygote(self) -> None:
        ours, theirs = socket.socketpair()
        # Started from the event loop's thread (the main thread), which lives as long as the
        # service: PR_SET_PDEATHSIG fires when the thread that started the child exits.
        self._zygote = subprocess.Popen(
            [sys.executable, "-c",
             "import sys; from services.common.workers import zygote_main; "
             "zygote_main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], bytes.fromhex(sys.argv[4]))",
             str(theirs.fileno()), str(os.getpid()), self.prepare, pickle.dumps(self.prepare_args).hex()],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, close_fds=True,
        )
        theirs.close()
        self._control = ours

    def _stop_zygote(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._zygote is not None:
            if self._zygote.poll() is None:
                self._zygote.kill()
            self._zygote.wait(timeout=10)
            self._zygote = None

    def _fork_blocking(self) -> tuple[int, socket.socket, int]:
        assert self._control is not None
        _send_frame(self._control, "fork")
        message, fds, _flags, _addr = socket.recv_fds(self._control, _HEADER.size, 2)
        if len(message) != _HEADER.size or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            raise ConnectionError("the zygote closed its control socket")
        (pid,) = _HEADER.unpack(message)
        return pid, socket.socket(fileno=fds[0]), fds[1]

    async def _fork(self) -> _Worker:
        async with self._control_lock:
            try:
                pid, sock, pidfd = await asyncio.to_thread(self._fork_blocking)
            except (OSError, ConnectionError):
                # The zygote died (killed, OOM): start a new one, then fork again.
                log.warning("worker zygote is gone; starting a new one", pool=self.name)
                self._stop_zygote()
                await self._start_zygote()
                pid, sock, pidfd = await asyncio.to_thread(self._fork_blocking)
        sock.setblocking(False)
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=1 << 20)
        worker = _Worker(pid, pidfd, reader, writer)
        self._workers[pid] = worker
        return worker

    async def _replace_or_fail(self, worker: _Worker, *, recycled: bool = False) -> None:
        """Replace `worker`, shielded from cancellation (a cancelled replacement would lose the
        pool one worker for good, until every caller waits forever for an idle one); when no
        new worker can be made, the pool is unavailable and says so."""
        try:
            await asyncio.shield(self._replace(worker, recycled=recycled))
        except (OSError, ConnectionError, PoolUnavailable) as exc:
            self._failure = self._failure or f"{self.name}: a worker could not be replaced: {type(exc).__name__}: {exc}"
            raise PoolUnavailable(self._failure) from exc

    async def _replace(self, worker: _Worker, *, recycled: bool = False) -> None:
        await worker.kill_and_wait()
        self._workers.pop(worker.pid, None)
        if recycled:
            self.recycled += 1
        else:
            self.replaced += 1
        if not self._closed:
            assert self._idle is not None
            self._idle.put_nowait(await self._fork())

    async def _recycle(self, worker: _Worker) -> None:
        try:
            await self._replace_or_fail(worker, recycled=True)
        except PoolUnavailable:
            pass  # recorded in _failure: the next run() raises it

    async def run(self, payload: Any) -> Any:
        """The handler's result for `payload`; raises WorkTimedOut, WorkerCrashed or WorkFailed.

        Waits until `start()` finished; raises PoolUnavailable when it failed.
        """
        await self._ready.wait()
        if self._failure is not None or self._idle is None:
            raise PoolUnavailable(self._failure or f"{self.name}: the pool is closed")
        worker = await self._idle.get()
        data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            reply = await asyncio.wait_for(self._call(worker, data), self.time_limit)
        except asyncio.TimeoutError:
            await self._replace_or_fail(worker)
            raise WorkTimedOut(f"{self.name}: over the {self.time_limit:g} s limit; the worker was killed") from None
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            await self._replace_or_fail(worker)
            raise WorkerCrashed(f"{self.name}: worker {worker.pid} died during the call") from None
        except BaseException:
            # Cancelled mid-call (shutdown, rebalance): the worker may still be busy with it.
            await self._replace_or_fail(worker)
            raise
        worker.calls += 1
        if self.recycle_after is not None and worker.calls >= self.recycle_after and not self._closed:
            task = asyncio.ensure_future(self._recycle(worker))
            self._recycling.add(task)
            task.add_done_callback(self._recycling.discard)
        else:
            self._idle.put_nowait(worker)
        status, value = reply
        if status == "error":
            raise value
        return value

    @staticmethod
    async def _call(worker: _Worker, data: bytes) -> Any:
        worker.writer.write(_HEADER.pack(len(data)) + data)
        await worker.writer.drain()
        (size,) = _HEADER.unpack(await worker.reader.readexactly(_HEADER.size))
        return pickle.loads(await worker.reader.readexactly(size))

    def close(self) -> None:
        """Kill every worker and the zygote (safe to call more than once, from any state)."""
        self._closed = True
        for worker in list(self._workers.values()):
            worker.kill()
        self._workers.clear()
        self._stop_zygote()
