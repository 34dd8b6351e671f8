"""The batched wake-up that completes write responses on the event loop: every future resolved
on any thread is delivered exactly once, however notifications and drains interleave."""
from __future__ import annotations

import threading

from util import wait_for

from eddydb.server.app import _new_loop
from eddydb.server.http import _Waker


class _Done:
    def __init__(self, counts: list[int], i: int) -> None:
        self.counts, self.i = counts, i

    def _deferred_done(self) -> None:
        self.counts[self.i] += 1


def test_every_notification_is_delivered_exactly_once():
    loop = _new_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
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
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
