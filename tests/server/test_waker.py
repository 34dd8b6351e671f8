"""The batched wake-up that completes write responses on the event loop: every future resolved
on any thread is delivered exactly once, however notifications and drains interleave."""
from __future__ import annotations

import threading

import pytest
from util import wait_for

from eddydb.server.app import _new_loop
from eddydb.server.http import _Waker


class _Done:
    def __init__(self, counts: list[int], i: int) -> None:
        self.counts, self.i = counts, i

    def _deferred_done(self) -> None:
        self.counts[self.i] += 1


def _run_on_a_thread(loop):
    """Run `loop` on a daemon thread; returns the function that stops and closes it."""
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def stop() -> None:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
    return stop


@pytest.fixture
def loop():
    lp = _new_loop()
    stop = _run_on_a_thread(lp)
    yield lp
    stop()


def test_every_notification_is_delivered_exactly_once(loop):
    waker = _Waker(loop)
    n_threads, per_thread = 4, 5000
    counts = [0] * (n_threads * per_thread)

    def notify(t: int) -> None:
        for j in range(per_thread):
            waker.notify(_Done(counts, t * per_thread + j))

    threads = [threading.Thread(target=notify, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    wait_for(lambda: sum(counts) == len(counts), timeout=30,
             message=lambda: f"{sum(counts)} of {len(counts)} notifications delivered")
    assert set(counts) == {1}


def test_a_notification_from_the_thread_that_started_the_server_still_wakes_the_loop():
    # The server may be started on one thread and its loop run on another: only the loop's own
    # thread may skip the thread-safe wake-up.
    from eddydb.server.app import make_socket
    from eddydb.server.http import HttpServer

    loop = _new_loop()
    srv = HttpServer(None, loop)
    loop.run_until_complete(srv.start(make_socket("127.0.0.1", 0)))
    stop = _run_on_a_thread(loop)
    try:
        counts = [0]
        srv.waker.notify(_Done(counts, 0))
        wait_for(lambda: counts[0] == 1, timeout=5, message="the loop to deliver the notification")
    finally:
        stop()


def test_a_notification_on_the_loop_thread_is_delivered_without_a_thread_safe_wake_up(loop):
    waker = _Waker(loop)
    counts = [0]
    loop.call_soon_threadsafe(lambda: waker.notify(_Done(counts, 0)))
    wait_for(lambda: counts[0] == 1, timeout=5, message="the loop to deliver the notification")
