"""Fan-out benchmark: one room, many receivers, on one SQLite server vs. servers on Redis.

Run: .venv/bin/python -m tests.perf.bench_scaleout [--messages N] [--receivers R]

For each setup, R receivers and 1 sender join one /chat room (receivers spread evenly
over the server processes, the sender on the first one); the sender sends N messages
(at most --window unacked at a time) and we measure until every receiver has every
message. Printed as a table and written as JSON to tests/perf/results/. Not a test:
there are no assertions on speed, and the figures depend heavily on the machine (the
clients run in this one Python process, on the same cores as the servers and Redis).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import socketio

from tests.support import REDIS_MISSING, RedisServer, ServerProcess, redis_available

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Result:
    setup: str
    processes: int
    receivers: int
    messages: int
    send_seconds: float
    deliver_seconds: float
    acks_per_second: float
    delivered_per_second: float


class Receiver:
    """A websocket client that counts the room messages it gets."""

    def __init__(self, url: str, user: str, expected: int) -> None:
        self.url = url
        self.user = user
        self.expected = expected
        self.count = 0
        self.done = asyncio.Event()
        self.client = socketio.AsyncClient(reconnection=False)
        self.client.on("message", self._message, namespace="/chat")

    def _message(self, data: object) -> None:
        self.count += 1
        if self.count >= self.expected:
            self.done.set()

    async def connect(self, room: str) -> None:
        await self.client.connect(self.url, namespaces=["/chat"], auth={"user": self.user},
                                  transports=["websocket"], wait_timeout=30)
        ack = await self.client.call("join", {"room": room}, namespace="/chat", timeout=30)
        assert ack["ok"], ack


async def fan_out(setup: str, urls: list[str], receivers: int, messages: int,
                  window: int) -> Result:
    room = f"bench-{time.monotonic_ns()}"
    people = [Receiver(urls[i % len(urls)], f"r{i}", messages) for i in range(receivers)]
    sender = Receiver(urls[0], "sender", 0)
    for peer in [*people, sender]:
        await peer.connect(room)
    limit = asyncio.Semaphore(window)

    async def send(n: int) -> None:
        async with limit:
            ack = await sender.client.call("message", {"room": room, "text": f"m{n}"},
                                           namespace="/chat", timeout=60)
            assert ack["ok"], ack

    start = time.perf_counter()
    await asyncio.gather(*(send(n) for n in range(messages)))
    sent = time.perf_counter() - start
    await asyncio.wait_for(asyncio.gather(*(p.done.wait() for p in people)), 300)
    delivered = time.perf_counter() - start
    for peer in [*people, sender]:
        await peer.client.disconnect()
    return Result(setup, len(urls), receivers, messages, round(sent, 3), round(delivered, 3),
                  round(messages / sent, 1), round(messages * receivers / delivered, 1))


def start_servers(folder: Path, count: int, *extra: str) -> list[ServerProcess]:
    return [ServerProcess(folder / f"s{i}.db", *extra).start() for i in range(count)]


async def run(args: argparse.Namespace) -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        servers = start_servers(folder, 1)
        try:
            results.append(await fan_out("SQLite, 1 process", [s.url for s in servers],
                                         args.receivers, args.messages, args.window))
        finally:
            for srv in servers:
                srv.stop()
        if not redis_available():
            print(f"(skipping the Redis setups: {REDIS_MISSING})")
            return results
        redis = RedisServer(folder / "redis", databases=16).start()
        try:
            for db, count in enumerate((1, 2), start=1):
                servers = start_servers(folder, count, "--redis", redis.url(db))
                try:
                    results.append(await fan_out(
                        f"Redis, {count} process{'es' if count > 1 else ''}",
                        [s.url for s in servers], args.receivers, args.messages,
                        args.window))
                finally:
                    for srv in servers:
                        srv.stop()
        finally:
            redis.stop()
    return results


def print_table(results: list[Result]) -> None:
    header = (f"{'setup':<20} {'procs':>5} {'recv':>5} {'msgs':>6} {'send s':>8} "
              f"{'all in s':>9} {'acks/s':>9} {'delivered/s':>12}")
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.setup:<20} {r.processes:>5} {r.receivers:>5} {r.messages:>6} "
              f"{r.send_seconds:>8.2f} {r.deliver_seconds:>9.2f} {r.acks_per_second:>9.0f} "
              f"{r.delivered_per_second:>12.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--receivers", type=int, default=20)
    parser.add_argument("--window", type=int, default=32,
                        help="messages the sender may have unacked at once")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print_table(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"bench_scaleout-{stamp}.json"
    out.write_text(json.dumps({
        "when": stamp, "machine": platform.platform(), "python": platform.python_version(),
        "settings": vars(args), "results": [asdict(r) for r in results]}, indent=2) + "\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
