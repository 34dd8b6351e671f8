"""Running the server: sockets, the event loop, worker processes, signals and clean shutdown.

`serve(settings)` is what `eddydb serve` calls. `--workers N` starts N processes listening on the
same port (SO_REUSEPORT) over one store, the first of which runs the background jobs (TTL, shard
rollover, retention, trigger mappings) and, on SQLite, does every write (forward.py); the default
is two on Linux with a durable SQLite store and 2+ CPUs, else one (`default_workers`). SIGINT/SIGTERM stop
accepting, finish the requests in flight, then close the Instance (which flushes the store).
"""
from __future__ import annotations

import asyncio
import errno
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from eddydb.config import Settings

__all__ = ["default_workers", "make_socket", "run_worker", "serve"]

log = logging.getLogger("eddydb.server")


def make_socket(host: str, port: int, *, reuse_port: bool = False, listen: bool = True) -> socket.socket:
    """A listening TCP socket (SO_REUSEADDR, and SO_REUSEPORT for multi-process serving)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(4096)
    sock.setblocking(False)
    return sock


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is a dependency on every supported platform
        return asyncio.new_event_loop()


def _url(settings: Settings, port: int, *, loopback: bool = False) -> str:
    """The URL to print (`localhost` for a wildcard bind) or, with loopback=True, the one local
    clients such as function workers should use (an explicit loopback address)."""
    host = settings.host
    if host in ("0.0.0.0", "::"):
        shown = ("127.0.0.1" if host == "0.0.0.0" else "::1") if loopback else "localhost"
    else:
        shown = host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


# The loop thread and the writer thread hand every write back and forth; CPython's default 5 ms
# GIL switch interval would add up to 5 ms to a hand-off. Set for the server process only (a
# library must not change interpreter-wide state of an embedding application).
_SWITCH_INTERVAL = 0.0005


def run_worker(settings: Settings, sock: socket.socket | None = None, *, index: int = 0,
               announce: Callable[[int], None] | None = None, background: bool = True,
               channels: list[socket.socket] | None = None, catalog: Any = None,
               handoffs: list[socket.socket] | None = None, on_stop: Callable[[], None] | None = None) -> int:
    """Serve on `sock` (or a new socket from settings) until SIGINT/SIGTERM. Returns an exit code.

    `channels` (several workers on SQLite, server/forward.py): worker 0 gets one socket per other
    worker and serves their forwarded requests; every other worker gets its one socket to worker 0
    and forwards all but item reads over it. `handoffs` pair up the same way, for passing
    connections (server/handoff.py). `catalog` is the shared table-catalog version
    (`Engine.share_catalog`), with several workers on any store. `on_stop()` is called when a
    signal starts the shutdown (a worker tells `eddydb serve`, see `_worker_entry`).
    """
    if sys.getswitchinterval() > _SWITCH_INTERVAL:
        sys.setswitchinterval(_SWITCH_INTERVAL)
    from eddydb.api import dispatch
    from eddydb.instance import Instance
    from eddydb.server import router
    from eddydb.server.http import HttpServer

    # import every operation module and build its request check now: a broken one fails the start,
    # and no client's first request waits for botocore's service models
    dispatch.prepare()
    router.routes()

    if sock is None:
        sock = make_socket(settings.host, settings.port, reuse_port=settings.workers > 1)
    settings.extra.setdefault("public_url", _url(settings, sock.getsockname()[1], loopback=True))
    inst = Instance(settings)
    loop = _new_loop()
    asyncio.set_event_loop(loop)
    stop = asyncio.Event()
    server = HttpServer(inst, loop)
    writer = channels is None or index == 0   # the only process writing to the store (of this server)
    if catalog is not None:
        inst.engine.share_catalog(catalog)
    peers: list[Any] = []
    if inst.engine.store.inline_writes and (settings.workers <= 1 or channels is not None and writer):
        # Item writes then run on this (the loop's) thread, one batch per loop iteration. Not with
        # sibling processes that write too: waiting for their write lock would stall this loop.
        if channels:
            def _batch_then_answer(run: Callable[[], None]) -> None:
                run()
                for p in peers:  # the forwarded writes this batch answered leave at once
                    p.flush()

            inst.engine.writer.attach_inline(lambda run: loop.call_soon(_batch_then_answer, run))
        else:
            inst.engine.writer.attach_inline(loop.call_soon)

    def _on_signal() -> None:
        if not stop.is_set() and on_stop is not None:
            on_stop()
        stop.set()

    async def _main() -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _on_signal)
        if channels is not None:
            from eddydb.server.forward import ForwardClient, ForwardServer

            for ch in channels:
                _t, peer = await loop.connect_accepted_socket(
                    (lambda: ForwardServer(loop, inst, server.waker)) if writer else (lambda: ForwardClient(loop)),
                    sock=ch)
                peers.append(peer)
            if not writer:
                server.forward = peers[0]
        if handoffs:
            server.attach_handoffs(handoffs)
        await server.start(sock)
        if background:
            inst.start_background()
        if announce is not None:
            announce(sock.getsockname()[1])
        await stop.wait()
        await server.shutdown()
        if writer and peers:
            # the other workers forward their in-flight requests here until they have shut down
            try:
                await asyncio.wait_for(asyncio.gather(*(p.closed for p in peers)), 20.0)
            except TimeoutError:
                log.warning("shutdown: a worker kept its forwarding channel open; closing it")
        for p in peers:
            p.close()
        server.close_handoffs()
        inst.engine.writer.detach_inline()

    try:
        loop.run_until_complete(_main())
    finally:
        try:
            inst.close()
        finally:
            loop.close()
    return 0


def _die_with_parent(parent: int) -> None:
    """A worker must not outlive `eddydb serve` (kill -9 of it would leave the workers serving the
    port and writing the store behind a restarted server): on Linux the kernel kills it with its
    parent (PR_SET_PDEATHSIG); a parent already gone means exit now."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError) as e:  # pragma: no cover - every Linux libc has prctl
            log.warning("cannot tie the worker's life to its parent: %s", e)
    if os.getppid() != parent:
        os._exit(1)


def _worker_entry(settings: Settings, index: int, channels: list[socket.socket] | None, catalog: Any,
                  parent: int, ready: Any, handoffs: list[socket.socket] | None = None) -> None:
    _die_with_parent(parent)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sock = make_socket(settings.host, settings.port, reuse_port=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent forwards SIGTERM; Ctrl-C reaches us via the group
    code = run_worker(settings, sock, index=index, background=(index == 0), channels=channels, catalog=catalog,
                      handoffs=handoffs, announce=lambda _port: ready.set(), on_stop=lambda: _stopping(parent))
    sys.exit(code)


def _stopping(parent: int) -> None:
    """Tell `eddydb serve` that this worker is stopping. When the parent did not ask for it (the
    worker was signalled alone) the parent stops the others at once: worker 0 would otherwise
    wait for the other workers' forwarding channels, which stay open while they serve."""
    try:
        os.kill(parent, signal.SIGUSR1)
    except ProcessLookupError:
        pass


def default_workers(settings: Settings) -> int:
    """`--workers 0` (the default): two processes on Linux with a durable SQLite store and two or
    more CPUs, where a second process answers item reads in parallel and forwards writes to the first
    (forward.py); one otherwise (in memory, PostgreSQL, one CPU, or no balancing SO_REUSEPORT)."""
    if settings.in_memory or settings.store or not sys.platform.startswith("linux"):
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - Linux has sched_getaffinity
        cpus = os.cpu_count() or 1
    return 2 if cpus >= 2 and _process_locks_work() else 1


def _process_locks_work() -> bool:
    """Workers share a counter with a lock (POSIX semaphores, /dev/shm): some sandboxes have none."""
    try:
        multiprocessing.get_context("spawn").Lock()
    except (OSError, ImportError):
        return False
    return True


def _raise_fd_limit() -> None:
    """Raise the soft open-file limit to the hard one (workers inherit it): every client connection
    is a descriptor, and with several workers the writing connections gather in worker 0
    (handoff.py), so a default soft limit of 1024 would cap connections long before memory does."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = hard if hard != resource.RLIM_INFINITY else 65536
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ValueError, OSError) as e:  # e.g. macOS refuses more than OPEN_MAX
        log.debug("cannot raise the open-file limit: %s", e)


def serve(settings: Settings, *, echo: Callable[[str], None] = print) -> int:
    """Run the server in the foreground until interrupted; prints the URL once listening."""
    _raise_fd_limit()
    if settings.workers <= 0:
        settings.workers = default_workers(settings)
    if settings.workers <= 1:
        def announce(port: int) -> None:
            echo(f"eddydb listening on {_url(settings, port)} ({_where(settings)})")
            sys.stdout.flush()

        return run_worker(settings, announce=announce)
    return _serve_many(settings, echo)


def _where(settings: Settings) -> str:
    if settings.store:
        return f"store {_redact(settings.store)}"
    if settings.data is None:
        return "in memory"
    return f"data {os.path.abspath(settings.data)}"


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def _claim_port(host: str, port: int, wait: float = 5.0) -> socket.socket:
    """Bind the port exclusively. A server killed with kill -9 a moment ago may still have workers
    exiting (killed with their parent, their sockets close as they finish): their port frees within
    milliseconds, so a busy port is retried for `wait` seconds before the start fails, as a restart
    right after a crash should not fail where one process would have started."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return make_socket(host, port, listen=False)
        except OSError as e:
            if e.errno != errno.EADDRINUSE or port == 0 or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def _serve_many(settings: Settings, echo: Callable[[str], None]) -> int:
    if settings.in_memory:
        raise SystemExit("--workers > 1 needs a durable store (--data or --store), not --in-memory")
    # Claim the port exclusively first (resolving port 0): SO_REUSEPORT alone would join any socket
    # another process of this user listens on with it (another `eddydb serve`), and the two servers
    # would split the connections between two databases. Then reserve it with a SO_REUSEPORT socket
    # the workers can share, held until they are gone.
    with _claim_port(settings.host, settings.port) as claim:
        port = claim.getsockname()[1]
    holder = make_socket(settings.host, port, reuse_port=True, listen=False)
    settings.port = port
    # Create the store once (schema, migrations) before workers race to do it.
    from eddydb.server import handoff
    from eddydb.storage import open_store

    open_store(settings).close()
    ctx = multiprocessing.get_context("spawn")
    # SQLite has one writer at a time: worker 0 writes, the others forward writes to it (forward.py).
    # PostgreSQL takes concurrent writers, so there every worker writes itself.
    forwarding = settings.store is None
    pairs = [socket.socketpair() for _ in range(settings.workers - 1)] if forwarding else []
    # ... and connections that write move to worker 0 between requests (handoff.py).
    hpairs = handoff.pairs(settings.workers - 1) if forwarding else []
    catalog = ctx.Value("q", -1)  # the newest table-catalog version: keeps every worker's table cache fresh
    procs: list[Any] = []
    stopping = False

    def _forward(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for p in procs:
            if p.is_alive() and p.pid is not None:
                try:
                    os.kill(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    alone: list[int] = []

    def _worker_stopping(signum: int, _frame: Any) -> None:
        # a worker was signalled alone (not through us): stop the others rather than serve on a partial
        # fleet (without worker 0 every write would answer 503), and exit with an error
        if not stopping:
            alone.append(1)
            _forward(signal.SIGTERM, None)

    # Handlers before the first worker exists: a SIGTERM at any moment from here on stops cleanly.
    signal.signal(signal.SIGINT, _forward)
    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGUSR1, _worker_stopping)
    ready = [ctx.Event() for _ in range(settings.workers)]
    for i in range(settings.workers):
        channels = None if not forwarding else [a for a, _b in pairs] if i == 0 else [pairs[i - 1][1]]
        handoffs = None if not hpairs else [a for a, _b in hpairs] if i == 0 else [hpairs[i - 1][1]]
        p = ctx.Process(target=_worker_entry,
                        args=(settings, i, channels, catalog, os.getpid(), ready[i], handoffs),
                        name=f"eddydb-worker-{i}")
        p.start()
        procs.append(p)
        if stopping:  # signalled while the earlier ones started
            _forward(signal.SIGTERM, None)
    for a, b in pairs + hpairs:
        a.close()
        b.close()
    # Announce only once every worker listens (a client may connect the moment it reads the line),
    # or stop waiting when one has already exited (the loop below then stops the rest).
    while not stopping and not all(e.is_set() for e in ready) and all(p.exitcode is None for p in procs):
        time.sleep(0.01)
    if not stopping and all(e.is_set() for e in ready):
        echo(f"eddydb listening on {_url(settings, port)} ({_where(settings)}, {settings.workers} workers)")
        sys.stdout.flush()

    from multiprocessing.connection import wait

    code = 0
    alive = list(procs)
    while alive:
        wait([p.sentinel for p in alive], timeout=1.0)
        if alone and not code:
            log.error("a worker was stopped on its own; stopping the server")
            code = 1
        for p in list(alive):
            if p.exitcode is None:
                continue
            alive.remove(p)
            if not stopping:
                # a worker ended on its own (failed, or signalled alone): stop the others rather than
                # serve on a partial fleet (without worker 0 every write would answer 503)
                log.error("worker %s exited with code %s; stopping the server", p.name, p.exitcode)
                code = p.exitcode or 1
                _forward(signal.SIGTERM, None)
    holder.close()
    return code
