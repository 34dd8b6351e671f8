"""Connection handoff between server processes (server/handoff.py): a connection that writes moves
to worker 0 between two requests, one adopted by worker 0 that then only reads goes back, one
worker 0 accepted itself stays, and the client notices nothing: the same TCP connection keeps
answering, in order, with its own writes visible. (Adversarial clients: test_handoff_adversarial.py.)

Which process serves a connection is read from /proc (handoff_support.Server), so these tests run
on Linux, where `--workers 2` is the default anyway.
"""
from __future__ import annotations

import socket
import sys

import pytest
from server.handoff_support import OPEN, Conn, Server, get, put
from util import wait_for

from eddydb.server import handoff

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads socket owners from /proc")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("handoff"))
    yield s
    while OPEN:
        OPEN.pop().close()
    assert s.proc.stop() == 0
    assert s.log_errors() == []


def test_a_connection_that_writes_moves_to_worker_0_and_keeps_answering(srv):
    conn = srv.on_reader()
    reader = next(iter(srv.owners(conn)))
    assert conn.call(put("moves", 1)).status == 200
    srv.moved(conn)
    assert reader != srv.writer
    for n in range(2, 6):  # the same socket goes on answering, and sees its own writes
        assert conn.call(put("moves", n)).status == 200
        assert conn.call(get("moves")).n() == n
    conn.close()


def test_an_adopted_connection_that_only_reads_goes_back(srv):
    conn = srv.on_reader()
    reader = next(iter(srv.owners(conn)))
    assert conn.call(put("back", 7)).status == 200
    assert srv.back_to_reader(conn) == reader
    assert conn.call(get("back")).n() == 7
    conn.close()


def test_a_connection_worker_0_accepted_stays_there_when_it_reads(srv):
    for _ in range(200):
        conn = Conn(srv.port)
        assert conn.call(get("none")).status == 200   # accepted and served
        if srv.owners(conn) == {srv.writer}:
            break
        conn.close()
    else:
        raise AssertionError("no connection landed on worker 0")
    assert conn.call(put("native", 3)).status == 200
    for _ in range(3 * handoff.READS_BEFORE_RETURN):
        assert conn.call(get("native")).n() == 3
    assert srv.owners(conn) == {srv.writer}
    conn.close()


# --- the channel itself -------------------------------------------------------------------------
def test_a_handed_over_socket_reaches_the_other_end_connected():
    import asyncio

    loop = asyncio.new_event_loop()
    [(a, b)] = handoff.pairs(1)
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    accepted, _ = listener.accept()
    adopted: list[socket.socket] = []
    try:
        sender = handoff.Handoff(loop, a, lambda s: False)
        receiver = handoff.Handoff(loop, b, lambda s: adopted.append(s) or True)
        assert sender.send(accepted)
        accepted.close()  # the sender's copy: the connection lives on in the receiver's
        loop.run_until_complete(asyncio.sleep(0))
        wait_for(lambda: loop.run_until_complete(asyncio.sleep(0.01)) or adopted, timeout=5, message="adopted")
        client.sendall(b"ping")
        assert adopted[0].recv(4) == b"ping"
        adopted[0].sendall(b"pong")
        assert client.recv(4) == b"pong"
        receiver.close()
        assert not sender.send(client)  # the other end is gone: nothing sent, no exception
        assert not sender.open
    finally:
        for s in (client, listener, *adopted):
            s.close()
        loop.close()


def test_without_seqpacket_sockets_there_is_no_handoff_and_no_error(monkeypatch):
    """macOS has no SOCK_SEQPACKET Unix sockets: `--workers N` still starts, connections stay put."""
    def refuse(*_a, **_k):
        raise OSError(93, "Protocol not supported")
    monkeypatch.setattr(socket, "socketpair", refuse)
    assert handoff.pairs(2) == []
