"""The client's own ZeroMQ protocol (daemon/zmtp.py) against a real libzmq ROUTER, as
the daemon binds it: replies, long messages, a daemon that binds late, one that never
answers, one that drops the connection; and a request that never imports pyzmq."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
import zmq

from daemon import wire, zmtp


STOP = threading.Event()


@pytest.fixture
def router(tmp_path):
    sock = zmq.Context.instance().socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.MAXMSGSIZE, wire.MAX_REQUEST_BYTES)
    path = tmp_path / "cli.sock"
    STOP.clear()
    yield sock, path
    STOP.set()
    for thread in threading.enumerate():    # no server thread may outlive its socket
        if thread.name == "router":
            thread.join(10)
    sock.close()


def serve(sock, count: int = 1) -> threading.Thread:
    """Answer `count` requests as the daemon does: the same envelope, a new body."""
    def answer() -> None:
        answered = 0
        while answered < count and not STOP.is_set():
            if sock.poll(50):
                *envelope, body = sock.recv_multipart()
                sock.send_multipart([*envelope, wire.reply_ok({"echo": body.decode()})])
                answered += 1
    thread = threading.Thread(target=answer, name="router", daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("size", [0, 200, 255, 256, 70000, 900000])
def test_a_request_and_its_reply_of_any_size(router, size):
    sock, path = router
    sock.bind(f"ipc://{path}")
    thread = serve(sock)
    text = "ж Бондар" + "x" * size     # json.dumps sends Cyrillic as \\u escapes
    got = wire.exchange(f"ipc://{path}", "status", 10, text=text)
    thread.join(10)
    assert got["echo"] == wire.request("status", text=text).decode()


def test_a_daemon_that_binds_late_is_waited_for(router):
    sock, path = router
    result = {}
    client = threading.Thread(target=lambda: result.update(
        got=wire.exchange(f"ipc://{path}", "status", 10)))
    client.start()          # it may find no socket yet, or one nobody listens on
    sock.bind(f"ipc://{path}")
    serve(sock).join(10)
    client.join(10)
    assert result["got"]["echo"] == wire.request("status").decode()


def test_no_answer_within_the_deadline(router):
    sock, path = router
    sock.bind(f"ipc://{path}")
    with pytest.raises(wire.NoAnswer, match="no answer to status within 0.3 s"):
        wire.exchange(f"ipc://{path}", "status", 0.3)


def test_nobody_there_is_no_answer_at_the_deadline(tmp_path):
    with pytest.raises(wire.NoAnswer):
        wire.exchange(f"ipc://{tmp_path}/none.sock", "status", 0.2)


def test_a_request_goes_without_importing_pyzmq(router):
    sock, path = router
    sock.bind(f"ipc://{path}")
    thread = serve(sock)
    probe = ("import sys\nfrom daemon import wire\n"
             f"print(wire.exchange('ipc://{path}', 'who', 10, query='x')['echo'])\n"
             "print('zmq' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)
    thread.join(10)
    assert done.stdout.splitlines() == [wire.request("who", query="x").decode(), "False"], \
        done.stderr


def test_the_greeting_is_zmtp_3_with_the_null_mechanism():
    assert len(zmtp.GREETING) == 64 and zmtp.GREETING[10:16] == b"\x03\x00NULL"
    assert zmtp.frame(b"x" * 300)[:9] == b"\x02" + (300).to_bytes(8, "big")


def test_a_socket_that_cannot_be_used_is_one_clear_error(tmp_path):
    folder = tmp_path / "run"
    folder.write_text("")               # a file where the socket's folder should be
    with pytest.raises(wire.WireError, match="cannot reach the cc daemon at ipc://"):
        wire.exchange(f"ipc://{folder}/cli.sock", "status", 1)


def test_a_peer_announcing_a_frame_no_daemon_sends_is_refused_not_believed(tmp_path):
    import socket
    import struct

    path = str(tmp_path / "liar.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def lie() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(64)
            conn.sendall(zmtp.GREETING + struct.pack(">BQ", zmtp.LONG, 1 << 62))
            conn.recv(1024)

    thread = threading.Thread(target=lie, daemon=True)
    thread.start()
    try:
        with pytest.raises(zmtp.Closed):
            zmtp.exchange(path, b"{}", 5)
    finally:
        thread.join(5)
        listener.close()
