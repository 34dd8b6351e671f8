"""The connection handoff (server/handoff.py) under adversarial clients: requests pipelined or cut
at awkward places around the move, unusual HTTP framing, clients that close or half-close at once,
hundreds of connections moving together, concurrent load with shutdown, slow readers. Whatever the
client does, it sees one TCP connection answering every request once, in order, with its writes
visible, and the server neither logs an internal error nor leaks a descriptor.

Raw sockets where the bytes matter, boto3 for load. Which process holds a connection is read from
/proc (Linux only, where `--workers 2` is the default).
"""
from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from server.handoff_support import OPEN, TABLE, ClosedBetweenRequests, Conn, Server, add, get, put, request
from util import WaitTimeout, make_client, wait_for

from eddydb.server import handoff

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads socket owners from /proc")


_T = TABLE


@pytest.fixture(autouse=True)
def _close_connections():
    """A failed test's connections must not hold the server's shutdown (a request cut off is busy)."""
    yield
    while OPEN:
        OPEN.pop().close()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("handoff-adv"))
    yield s
    assert s.proc.stop() == 0
    assert s.log_errors() == []


# --- pipelining at awkward boundaries -------------------------------------------------------------
def test_a_write_pipelined_with_more_requests_in_one_send_answers_each_in_order(srv):
    conn = srv.on_reader()
    for round_ in range(10):
        burst = put("burst", round_) + get("burst") + add("burst") + get("burst") + get("none")
        conn.send(burst)
        assert conn.response().status == 200
        assert conn.response().n() == round_
        assert conn.response().status == 200
        assert conn.response().n() == round_ + 1
        assert conn.response().json() == {}
        srv.back_to_reader(conn)
    conn.close()


def test_the_next_request_cut_anywhere_around_the_move(srv):
    """The write and the first k bytes of the next request in one send; once the write is answered
    (the server holding those k bytes), the next bytes one send each: for every k, the read is
    answered and sees the write."""
    conn = srv.on_reader()
    template = get("cut")
    body_at = template.index(b"\r\n\r\n")
    cuts = sorted({*range(12), *range(body_at - 3, body_at + 6), *range(len(template) - 4, len(template) + 1),
                   *range(12, len(template), 29)})
    for done, k in enumerate(cuts, 1):   # counted with ADD: a write run twice would show
        conn.send(add("cut") + template[:k])
        assert conn.response().status == 200
        for i in range(k, min(k + 6, len(template))):
            conn.send(template[i:i + 1])
        conn.send(template[k + 6:])
        assert conn.response().n() == done
        srv.back_to_reader(conn)  # the move has left already: these reads are worker 0's
    conn.close()


def test_a_partial_request_sent_before_the_write_is_answered_waits_for_the_rest(srv):
    """Most of the next request is already in the server's hands when the write's answer goes out:
    the connection stays until it is complete and answered, then moves."""
    conn = srv.on_reader()
    nxt = add("partial")
    conn.send(add("partial") + nxt[:-1])
    assert conn.response().status == 200
    assert srv.owners(conn) - {srv.writer}   # still on the reader: it holds part of a request
    conn.send(nxt[-1:])
    assert conn.response().status == 200
    srv.moved(conn)
    assert conn.call(get("partial")).n() == 2
    conn.close()


def test_a_write_followed_by_more_requests_than_the_server_queues(srv):
    """Reading pauses at 32 requests queued behind a write: the rest waits in the socket, the
    connection moves only once every one of them is answered."""
    conn = srv.on_reader()
    conn.send(put("many-queued", 1) + get("many-queued") * 100 + put("many-queued", 2) + get("many-queued") * 3)
    assert conn.response().status == 200
    assert [conn.response().n() for _ in range(100)] == [1] * 100
    assert conn.response().status == 200
    assert [conn.response().n() for _ in range(3)] == [2] * 3
    srv.moved(conn)
    conn.close()


def test_a_large_write_trickling_in_after_another_write_is_not_cut(srv):
    """A 300 KB item sent in 1 KB pieces right behind a write: the move waits for its last byte."""
    conn = srv.on_reader()
    big = request("PutItem", {"TableName": _T, "Item": {"pk": {"S": "trickle"}, "n": {"N": "7"},
                                                        "pad": {"S": "p" * 300_000}}})
    conn.send(put("trickle", 1) + big[:1000])
    for i in range(1000, len(big), 1000):
        conn.send(big[i:i + 1000])
    assert conn.response().status == 200
    assert conn.response().status == 200
    assert conn.call(get("trickle")).n() == 7
    srv.moved(conn)
    conn.close()


def test_random_mixes_cut_at_random_places_are_answered_in_order(srv):
    """Seeded random bursts (ADD writes, some chunked; GetItem, sometimes in runs long enough to
    send a connection back; HEAD and GET /) cut at random places, on several connections at once."""
    import random

    def client(seed: int) -> None:
        rnd = random.Random(seed)
        conn = Conn(srv.port)
        key, count = f"mix{seed}", 0
        for _ in range(120):
            data, expect = b"", []
            for _ in range(rnd.randint(1, 6)):
                c = rnd.random()
                if c < 0.3:
                    count += 1
                    data += add(key, chunked=rnd.random() < 0.3)
                    expect.append("write")
                elif c < 0.8:
                    reads = rnd.randint(14, 20) if c < 0.4 else 1
                    data += get(key) * reads
                    expect += [count] * reads
                else:
                    data += b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" if c < 0.9 else b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                    expect.append("head" if c < 0.9 else "health")
            pos = 0
            while pos < len(data):
                n = rnd.choice([1, 2, 5, 50, 400, len(data)])
                conn.send(data[pos:pos + n])
                pos += n
            for want in expect:
                r = conn.response(head_only=want == "head")
                assert r.status == 200, r.body
                if isinstance(want, int):
                    assert (r.n() if want else r.json()) == (want or {}), seed
        conn.close()

    errors: list[BaseException] = []

    def run(seed: int) -> None:
        try:
            client(seed)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(seed,)) for seed in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []


# --- HTTP framing ---------------------------------------------------------------------------------
def test_an_expect_100_continue_write_moves_and_keeps_answering(srv):
    conn = srv.on_reader()
    for n in range(3):
        whole = put("expect", n, extra=b"Expect: 100-continue\r\n")
        head, _, body = whole.partition(b"\r\n\r\n")
        conn.send(head + b"\r\n\r\n")
        assert conn.response().status == 100
        conn.send(body)
        assert conn.response().status == 200
        srv.moved(conn)
        assert conn.call(get("expect")).n() == n
        srv.back_to_reader(conn)
    conn.close()


def test_an_expect_100_continue_behind_an_unanswered_write_comes_after_its_answer(srv):
    """A pipelined request's interim 100 Continue must not overtake the answer before it."""
    conn = srv.on_reader()
    whole = put("expect2", 1, extra=b"Expect: 100-continue\r\n")
    head, _, body = whole.partition(b"\r\n\r\n")
    conn.send(add("expect2") + head + b"\r\n\r\n")
    assert conn.response().status == 200     # the first write's answer first
    assert conn.response().status == 100     # then the go-ahead for the second
    conn.send(body)
    assert conn.response().status == 200
    assert conn.call(get("expect2")).n() == 1
    conn.close()


def test_chunked_and_gzip_bodies_on_a_moving_connection(srv):
    conn = srv.on_reader()
    assert conn.call(put("framing", 1, chunked=True)).status == 200
    srv.moved(conn)
    assert conn.call(get("framing", chunked=True)).n() == 1
    srv.back_to_reader(conn)
    body = gzip.compress(json.dumps({"TableName": _T, "Item": {"pk": {"S": "framing"}, "n": {"N": "2"}}}).encode())
    assert conn.call(request("PutItem", body, extra=b"Content-Encoding: gzip\r\n")).status == 200
    srv.moved(conn)
    assert conn.call(get("framing")).n() == 2
    conn.close()


def test_head_get_and_health_checks_on_a_moving_connection(srv):
    conn = srv.on_reader()
    health = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
    head = b"HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n"
    as_json = b"GET / HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n"
    conn.send(put("hg", 1) + head + health + as_json + get("hg"))
    assert conn.response().status == 200
    r = conn.response(head_only=True)
    assert r.status == 200 and int(r.headers["content-length"]) == len(b"healthy: localhost")
    assert conn.response().body == b"healthy: localhost"
    assert conn.response().json()["status"] == "ok"
    assert conn.response().n() == 1
    srv.moved(conn)
    conn.send(head + health + get("hg"))
    assert conn.response(head_only=True).status == 200
    assert conn.response().body == b"healthy: localhost"
    assert conn.response().n() == 1
    conn.close()


def test_connection_close_on_the_write_closes_after_its_answer(srv):
    for n in range(5):
        conn = srv.on_reader()
        r = conn.call(put("close", n, extra=b"Connection: close\r\n"))
        assert r.status == 200 and r.headers["connection"] == "close"
        assert conn.closed_by_server()
        conn.close()
        assert srv.ddb.get_item(TableName=_T, Key={"pk": {"S": "close"}})["Item"]["n"]["N"] == str(n)


def test_http_1_0_writes(srv):
    conn = srv.on_reader()     # plain HTTP/1.0: one request, then the server closes
    assert conn.call(put("h10", 1, version=b"1.0")).status == 200
    assert conn.closed_by_server()
    conn.close()
    conn = srv.on_reader()     # HTTP/1.0 keep-alive: moves and stays open like HTTP/1.1
    assert conn.call(put("h10", 2, version=b"1.0", extra=b"Connection: keep-alive\r\n")).status == 200
    srv.moved(conn)
    assert conn.call(get("h10", version=b"1.0", extra=b"Connection: keep-alive\r\n")).n() == 2
    conn.close()


# --- clients that go away -------------------------------------------------------------------------
def test_clients_that_close_or_half_close_at_once_leak_nothing(srv):
    """Close right after the write's answer (as it moves), reset it, half-close after the write, or
    close without reading the answer: no internal error, and no descriptor left in either worker."""
    before = srv.fds()
    for i in range(200):
        conn = Conn(srv.port)    # either worker
        how = i % 6
        if how == 0:             # close the moment the answer is read
            assert conn.call(put("gone", i)).status == 200
        elif how == 1:           # the same with a reset
            assert conn.call(put("gone", i)).status == 200
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        elif how == 2:           # half-close after the write: answered, then closed by the server
            conn.send(put("gone", i) + get("gone"))
            conn.sock.shutdown(socket.SHUT_WR)
            assert conn.response().status == 200
            assert conn.response().n() == i
            assert conn.closed_by_server()
        elif how == 3:           # half-close right after the answer, as the connection moves
            assert conn.call(put("gone", i)).status == 200
            conn.sock.shutdown(socket.SHUT_WR)
            assert conn.closed_by_server()
        elif how == 4:           # one more request and a half-close, as the connection moves
            assert conn.call(put("gone", i)).status == 200
            conn.send(get("gone"))
            conn.sock.shutdown(socket.SHUT_WR)
            assert conn.response().n() == i
            assert conn.closed_by_server()
        else:                    # gone before the answer
            conn.send(put("gone", i))
        conn.close()
    srv.no_more_fds_than(before)
    assert srv.log_errors() == []


# --- many connections -----------------------------------------------------------------------------
def test_hundreds_of_connections_moving_at_once_are_all_served(srv):
    """Hundreds of connections move at once, then hundreds go back to a reading worker that is
    stalled (SIGSTOP): more than its handoff socket queues, so the rest stay on worker 0 and answer
    there, and those queued are answered once the worker runs again."""
    before = srv.fds()
    reader = next(pid for pid in srv.workers if pid != srv.writer)
    conns: list[Conn] = []
    try:
        while sum(o == {reader} for o in srv.owners_of(conns)) < 300:   # > the 278 packets a socket queues
            more = [Conn(srv.port) for _ in range(100)]
            for c in more:
                c.send(get("none"))
            for c in more:
                assert c.response().status == 200   # accepted and served
            conns += more
        for i, c in enumerate(conns):               # every connection writes at once
            c.send(put(f"many{i}", 1) + get(f"many{i}"))
        for c in conns:
            assert c.response().status == 200
            assert c.response().n() == 1
        wait_for(lambda: all(o == {srv.writer} for o in srv.owners_of(conns)), timeout=10,
                 message="every connection on worker 0")
        os.kill(reader, signal.SIGSTOP)
        try:
            for c in conns:                         # the adopted ones go back: to a stalled reader
                c.send(get("none") * handoff.READS_BEFORE_RETURN)
            for c in conns:
                for _ in range(handoff.READS_BEFORE_RETURN):
                    assert c.response().status == 200
            # A connection worker 0 has just handed over stays in its descriptor table until its
            # loop's next iteration closes it: wait until two looks agree before telling them apart.
            seen: list = []

            def settled() -> list | None:
                seen.append(srv.owners_of(conns))
                return seen[-1] if len(seen) > 1 and seen[-1] == seen[-2] else None

            owners = wait_for(settled, timeout=10, message="where each connection is, twice the same")
            answered = [c for c, o in zip(conns, owners, strict=True) if o == {srv.writer}]
            for i, c in enumerate(conns):
                c.send(add(f"many{i}"))
            assert len(conns) > len(answered) > len(conns) - 300    # some stayed, some are queued
            for c in answered:
                assert c.response().status == 200
        finally:
            os.kill(reader, signal.SIGCONT)
        for i, c in enumerate(conns):
            if c not in answered:
                assert c.response().status == 200
            assert c.call(get(f"many{i}")).n() == 2
    finally:
        for c in conns:
            c.close()
    srv.no_more_fds_than(before)
    assert srv.log_errors() == []


def test_connections_ping_ponging_between_workers_under_load_lose_no_write(srv):
    """boto3 threads alternate writes and runs of reads (their connections move to worker 0 and
    back), raw connections pipeline writes and reads meanwhile: no lost update, every acknowledged
    PutItem readable, every read sees its own connection's write."""
    threads, rounds = 4, 8
    acked: list[str] = []
    errors: list[BaseException] = []

    def boto(t: int) -> None:
        ddb = make_client("dynamodb", srv.proc.url)
        for i in range(rounds):
            ddb.update_item(TableName=_T, Key={"pk": {"S": "pingpong"}}, UpdateExpression="ADD n :one",
                            ExpressionAttributeValues={":one": {"N": "1"}})
            ddb.put_item(TableName=_T, Item={"pk": {"S": f"pp-{t}-{i}"}, "n": {"N": str(i)}})
            acked.append(f"pp-{t}-{i}")
            for _ in range(handoff.READS_BEFORE_RETURN + i % 3):
                ddb.get_item(TableName=_T, Key={"pk": {"S": f"pp-{t}-{i}"}})

    def raw(t: int) -> None:
        conn = Conn(srv.port)
        for i in range(rounds * 3):
            conn.send(put(f"raw-{t}", i) + get(f"raw-{t}") + get("none") * (i % 20))
            assert conn.response().status == 200
            assert conn.response().n() == i
            for _ in range(i % 20):
                assert conn.response().status == 200
        conn.close()

    def run(fn: Any, t: int) -> None:
        try:
            fn(t)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    workers = [threading.Thread(target=run, args=(fn, t)) for t in range(threads) for fn in (boto, raw)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert errors == []
    assert int(srv.ddb.get_item(TableName=_T, Key={"pk": {"S": "pingpong"}})["Item"]["n"]["N"]) == threads * rounds
    for key in acked:
        assert "Item" in srv.ddb.get_item(TableName=_T, Key={"pk": {"S": key}}), key
    assert srv.log_errors() == []


# --- three workers --------------------------------------------------------------------------------
def test_with_two_reading_workers_connections_go_back_round_robin(tmp_path):
    srv = Server(tmp_path, workers=3)
    try:
        conn = srv.on_reader()
        back = []
        for n in range(4):   # from either reader to worker 0, and back to each reader in turn
            assert conn.call(put("rr", n)).status == 200
            back.append(srv.back_to_reader(conn))
            assert conn.call(get("rr")).n() == n
        assert back[0] != back[1] and back[:2] == back[2:]
        assert set(back) == set(srv.workers) - {srv.writer}
        conn.close()
        assert srv.proc.stop() == 0
        assert srv.log_errors() == []
    finally:
        srv.proc.kill9()


# --- shutdown -------------------------------------------------------------------------------------
def test_sigterm_under_load_exits_cleanly_and_keeps_every_acknowledged_write(tmp_path):
    """SIGTERM while connections move both ways: exit code 0 within the shutdown timeout, every
    answer whole (a connection closes only between requests, and a retry on a new one is served
    until the port closes), every acknowledged write there after a restart."""
    srv = Server(tmp_path)
    acked: list[str] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def client(t: int) -> None:
        i = 0
        while not stop.is_set():
            try:
                conn = Conn(srv.port)
            except OSError:
                return   # the server no longer listens
            try:
                while True:
                    key = f"sig-{t}-{i}"
                    conn.send(put(key, i) + get(key) + get("none") * (i % 18))
                    r = conn.response()
                    assert r.status == 200, r.body
                    acked.append(key)
                    assert conn.response().n() == i
                    for _ in range(i % 18):
                        assert conn.response().status == 200
                    i += 1
            except (ClosedBetweenRequests, ConnectionResetError, BrokenPipeError):
                pass     # closed between requests (or reset under the unread next one): retry
            except BaseException as e:  # noqa: BLE001 - reported by the main thread
                errors.append(e)
                return
            finally:
                conn.close()
            i += 1

    threads = [threading.Thread(target=client, args=(t,)) for t in range(6)]
    try:
        for th in threads:
            th.start()
        wait_for(lambda: len(acked) > 150, timeout=30, message="writes under way")
        started = time.monotonic()
        assert srv.proc.stop(timeout=30) == 0
        assert time.monotonic() - started < 15
        stop.set()
        for th in threads:
            th.join(30)
        assert errors == []
        assert srv.log_errors() == []
        srv.proc.start()
        pages = make_client("dynamodb", srv.proc.url).get_paginator("scan").paginate(TableName=_T)
        assert set(acked) <= {item["pk"]["S"] for page in pages for item in page["Items"]}
    finally:
        stop.set()
        srv.proc.kill9()


def test_worker_0_stopped_alone_stops_the_server_closing_connections_between_requests(tmp_path):
    """Worker 0 alone stops (SIGTERM to it): no write could be answered without it, so it tells the
    parent and the whole server stops at once (server/app.py). Connections on either worker close
    between two requests, never inside an answer, and the server exits with an error."""
    srv = Server(tmp_path)
    try:
        native = Conn(srv.port)
        while srv.owners(native) != {srv.writer}:
            native = Conn(srv.port)
            assert native.call(get("none")).status == 200
        on_reader = srv.on_reader()
        assert on_reader.call(put("w0stops", 1)).status == 200
        os.kill(srv.writer, signal.SIGTERM)
        assert native.closed_by_server()
        assert on_reader.closed_by_server()
        assert srv.proc.proc.wait(timeout=60) != 0
        assert "stopped on its own" in srv.proc.log_tail()
    finally:
        srv.proc.kill9()


def test_connections_handed_to_a_worker_that_stops_close_between_requests(tmp_path):
    """Connections queued to a reading worker (stalled with SIGSTOP) when the server gets SIGTERM,
    each with its next write already sent: each is either answered whole (then closed) or closed
    before any byte of an answer, never half-answered; the exit is clean and answered writes stay."""
    srv = Server(tmp_path)
    reader = next(pid for pid in srv.workers if pid != srv.writer)
    try:
        conns = [srv.on_reader() for _ in range(8)]
        for i, c in enumerate(conns):
            assert c.call(put(f"stopping{i}", 1)).status == 200
        native = Conn(srv.port)     # a connection worker 0 accepted: idle, closed when it stops
        while srv.owners(native) != {srv.writer}:
            native = Conn(srv.port)
            assert native.call(get("none")).status == 200
        wait_for(lambda: all(o == {srv.writer} for o in srv.owners_of(conns)), timeout=10,
                 message="every connection on worker 0")
        os.kill(reader, signal.SIGSTOP)
        try:
            for c in conns:   # sent back to the stalled reader, then the next write sent
                c.send(get("none") * handoff.READS_BEFORE_RETURN)
                for _ in range(handoff.READS_BEFORE_RETURN):
                    assert c.response().status == 200
            wait_for(lambda: all(not o for o in srv.owners_of(conns)), timeout=10, message="all queued")
            for i, c in enumerate(conns):
                c.send(put(f"stopping{i}", 2))
            srv.proc.proc.send_signal(signal.SIGTERM)
            assert native.closed_by_server()   # worker 0 stops
        finally:
            os.kill(reader, signal.SIGCONT)
        answered = []
        for i, c in enumerate(conns):
            try:
                r = c.response()
            except (ClosedBetweenRequests, ConnectionResetError):
                continue
            assert r.status == 200 and r.headers.get("connection") == "close", r.body
            assert c.closed_by_server()
            answered.append(i)
        assert srv.proc.proc.wait(15) == 0
        srv.proc.proc = None
        assert srv.log_errors() == []
        if answered:   # (usually none: each arrived at a stopping worker)
            srv.proc.start()
            ddb = make_client("dynamodb", srv.proc.url)
            for i in answered:
                assert ddb.get_item(TableName=_T, Key={"pk": {"S": f"stopping{i}"}})["Item"]["n"]["N"] == "2"
    finally:
        srv.proc.kill9()


# --- slow readers ---------------------------------------------------------------------------------
def test_a_slow_reader_that_writes_does_not_move_before_its_answers_are_sent(srv):
    """Megabytes of Query and Scan answers the client does not read yet, then a write: the
    connection must not move while the server still holds unsent bytes of it (worker 0's next
    answer would overtake them), and every answer arrives whole and in order."""
    srv.ddb.create_table(TableName="advbig", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                                        {"AttributeName": "sk", "KeyType": "RANGE"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                               {"AttributeName": "sk", "AttributeType": "N"}],
                         BillingMode="PAY_PER_REQUEST")
    srv.ddb.get_waiter("table_exists").wait(TableName="advbig", WaiterConfig={"Delay": 0.1})
    pad = "x" * 10_000
    for b in range(4):
        srv.ddb.batch_write_item(RequestItems={"advbig": [
            {"PutRequest": {"Item": {"pk": {"S": "big"}, "sk": {"N": str(b * 25 + i)}, "pad": {"S": pad}}}}
            for i in range(25)]})
    query = request("Query", {"TableName": "advbig", "KeyConditionExpression": "pk = :p",
                              "ExpressionAttributeValues": {":p": {"S": "big"}}})
    scan = request("Scan", {"TableName": "advbig"})
    conn = srv.on_reader(rcvbuf=4096)   # a small window: the answers pile up in the server
    conn.send((query + scan) * 5 + put("slow", 1))
    wait_for(lambda: "Item" in srv.ddb.get_item(TableName=_T, Key={"pk": {"S": "slow"}}), timeout=10,
             message="the write done")
    with pytest.raises(WaitTimeout):   # its answer is queued behind megabytes: it stays
        wait_for(lambda: srv.writer in srv.owners(conn), timeout=0.5)
    conn.send(get("slow"))
    for _ in range(10):
        r = conn.response()
        assert r.status == 200 and r.json()["Count"] == 100
    assert conn.response().status == 200
    assert conn.response().n() == 1
    assert conn.call(get("slow")).n() == 1
    srv.moved(conn)
    conn.close()


# --- descriptors ----------------------------------------------------------------------------------
def test_connections_handed_to_a_worker_out_of_descriptors_stay_where_they_are(srv):
    """A worker at its open-file limit cannot take a handed-over connection (the kernel would drop
    it, and the client find it closed): the connection goes on being served where it was. Both
    ways: to worker 0 after a write, back to the reader after a run of reads."""
    import resource

    reader = next(pid for pid in srv.workers if pid != srv.writer)

    @contextlib.contextmanager
    def out_of_descriptors(pid: int) -> Iterator[None]:
        limit = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (len(os.listdir(f"/proc/{pid}/fd")) + 3, limit[1]))
        try:
            yield
        finally:
            resource.prlimit(pid, resource.RLIMIT_NOFILE, limit)

    conns = [srv.on_reader() for _ in range(20)]
    with out_of_descriptors(srv.writer):
        for i, c in enumerate(conns):
            assert c.call(put(f"nofile{i}", i)).status == 200
        for i, c in enumerate(conns):
            assert c.call(get(f"nofile{i}")).n() == i
        assert sum(o == {srv.writer} for o in srv.owners_of(conns)) < len(conns)
    for i, c in enumerate(conns):   # with descriptors to spare again, they move
        assert c.call(put(f"nofile{i}", i + 1)).status == 200
        assert c.call(get(f"nofile{i}")).n() == i + 1
    wait_for(lambda: all(o == {srv.writer} for o in srv.owners_of(conns)), timeout=10, message="all moved")
    with out_of_descriptors(reader):
        for i, c in enumerate(conns):
            c.send(get(f"nofile{i}") * handoff.READS_BEFORE_RETURN)
            assert [c.response().n() for _ in range(handoff.READS_BEFORE_RETURN)] == [i + 1] * 16
        for i, c in enumerate(conns):
            assert c.call(get(f"nofile{i}")).n() == i + 1
        assert sum(o == {reader} for o in srv.owners_of(conns)) < len(conns)


def test_a_handoff_the_kernel_refuses_for_now_leaves_the_channel_open(monkeypatch):
    """Only a peer that is gone closes the channel; a refusal of this one descriptor (too many in
    flight, no buffer) leaves the connection where it is and the next handoff is tried again."""
    import asyncio
    import errno

    loop = asyncio.new_event_loop()
    [(a, b)] = handoff.pairs(1)
    refusals = iter([OSError(errno.ETOOMANYREFS, "Too many references"), OSError(errno.ENOBUFS, "No buffer")])
    real = socket.send_fds

    def send_fds(*args: Any) -> int:
        err = next(refusals, None)
        if err is not None:
            raise err
        return real(*args)

    monkeypatch.setattr(socket, "send_fds", send_fds)
    sender = handoff.Handoff(loop, a, lambda s: False)
    receiver = handoff.Handoff(loop, b, lambda s: True)
    try:
        with socket.socket() as conn:
            assert not sender.send(conn) and not sender.send(conn)
            assert sender.open
            assert sender.send(conn)
            receiver.close()
            assert not sender.send(conn) and not sender.open   # gone: closed for good
    finally:
        sender.close()
        loop.close()
