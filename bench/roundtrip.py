"""Figure 2: one request to the daemon and its reply over the ZeroMQ request socket, with
an in-process REQ client: `status` (answered from memory) and `dial` (a request to the
emulator; every call is hung up before the next)."""

from __future__ import annotations

import time

import zmq

from daemon import wire

from .common import NEVER_ANSWERS, Agent, Emulator, ms, percentile, standalone, verdict

STATUS_RUNS, STATUS_WARMUP = 3000, 200
DIAL_RUNS, DIAL_WARMUP = 60, 5
P50_TARGET, P99_TARGET = 0.001, 0.005


class Client:
    """A REQ socket kept open, as a long-lived client would (`cc` opens one per run)."""

    def __init__(self, endpoint: str):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.REQ)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)

    def request(self, cmd: str, **args):
        self.sock.send(wire.request(cmd, **args))
        if not self.sock.poll(30_000):
            raise RuntimeError(f"the daemon did not answer '{cmd}' within 30 s")
        return wire.parse_reply(self.sock.recv())

    def timed(self, cmd: str, **args):
        start = time.perf_counter()
        result = self.request(cmd, **args)
        return time.perf_counter() - start, result

    def close(self) -> None:
        self.sock.close()
        self.ctx.term()


def run() -> list[str]:
    emulator = Emulator(scale=10.0)
    agent = Agent(emulator).start()
    client = Client(agent.request_socket)
    try:
        status = []
        for i in range(STATUS_WARMUP + STATUS_RUNS):
            elapsed, _ = client.timed("status")
            if i >= STATUS_WARMUP:
                status.append(elapsed)
        dial = []
        for i in range(DIAL_WARMUP + DIAL_RUNS):
            elapsed, call = client.timed("dial", number=NEVER_ANSWERS)
            client.request("hangup", call_id=call["call_id"])
            if i >= DIAL_WARMUP:
                dial.append(elapsed)
    finally:
        client.close()
    p50, p99 = percentile(status, 50), percentile(status, 99)
    return [f"daemon round trip: status p50 {ms(p50)} p99 {ms(p99)} over {STATUS_RUNS} "
            f"(targets p50 <= 1 ms, p99 <= 5 ms) "
            f"{verdict(p50 <= P50_TARGET and p99 <= P99_TARGET)}; "
            f"dial p50 {ms(percentile(dial, 50))} p99 {ms(percentile(dial, 99))} over "
            f"{DIAL_RUNS}, each hung up (no target)"]


if __name__ == "__main__":
    standalone(run)
