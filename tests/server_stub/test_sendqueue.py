"""The bounded per-socket send queue (server_stub.transport.sendqueue) on its own: what
it counts, when it overflows, pings first, small write batches."""

from __future__ import annotations

import asyncio

import pytest
from engineio import packet as eio_packet

from server_stub.transport.sendqueue import WRITE_BATCH, BoundedSendQueue, SendLimits


def message(text: str) -> eio_packet.Packet:
    return eio_packet.Packet(eio_packet.MESSAGE, text)


def make(max_bytes: int = 1 << 20, max_packets: int = 1000
         ) -> tuple[BoundedSendQueue, list[BoundedSendQueue]]:
    overflowed: list[BoundedSendQueue] = []
    return BoundedSendQueue(SendLimits(max_bytes, max_packets), overflowed.append), overflowed


async def test_counts_queued_and_taken_until_the_writer_comes_back() -> None:
    queue, _ = make()
    for _ in range(3):
        queue.put_nowait(message("x" * 1000))
    assert queue.held_packets == 3 and queue.held_bytes >= 3000
    first = await queue.get()
    assert first.data == "x" * 1000
    queue.get_nowait()
    # taken by the writer but not written yet: still held
    assert queue.queued_packets == 1 and queue.writing_packets == 2
    assert queue.held_packets == 3
    queue.get_nowait()
    queue.put_nowait(message("y"))
    await queue.get()  # the writer is back: the previous batch is written
    assert queue.held_packets == 1 and queue.writing_packets == 1


async def test_packet_limit_overflows_drops_everything_and_reports() -> None:
    queue, overflowed = make(max_packets=5)
    for n in range(5):
        queue.put_nowait(message(f"m{n}"))
    assert overflowed == []
    queue.put_nowait(message("one too many"))
    assert overflowed == [queue] and queue.overflowed
    assert queue.report[1] == 6
    assert queue.held_packets == 0 and queue.qsize() == 0
    queue.put_nowait(message("later"))  # dropped, not queued, no second report
    assert queue.qsize() == 0 and overflowed == [queue] and queue.dropped == 7
    queue.put_nowait(eio_packet.Packet(eio_packet.CLOSE))  # control still goes
    assert (await queue.get()).packet_type == eio_packet.CLOSE


async def test_byte_limit_counts_the_batch_being_written() -> None:
    queue, overflowed = make(max_bytes=10_000)
    for _ in range(4):
        queue.put_nowait(message("z" * 2000))
    await queue.get()
    for _ in range(3):
        queue.get_nowait()  # the writer holds all four now
    queue.put_nowait(message("z" * 2000))
    assert overflowed == [queue]
    assert queue.report[0] > 10_000


async def test_ping_goes_ahead_of_data() -> None:
    queue, _ = make()
    for n in range(10):
        queue.put_nowait(message(f"m{n}"))
    await queue.put(eio_packet.Packet(eio_packet.PING))
    assert (await queue.get()).packet_type == eio_packet.PING
    assert queue.get_nowait().data == "m0"


async def test_a_writer_takes_one_small_batch_at_a_time() -> None:
    queue, _ = make()
    for n in range(WRITE_BATCH * 3):
        queue.put_nowait(message(f"m{n}"))
    taken = [await queue.get()]
    with pytest.raises(asyncio.QueueEmpty):
        while True:
            taken.append(queue.get_nowait())
    assert len(taken) == WRITE_BATCH
    # a ping queued now is the first thing of the next batch
    queue.put_nowait(eio_packet.Packet(eio_packet.PING))
    assert (await queue.get()).packet_type == eio_packet.PING


async def test_last_words_go_first_but_after_a_waiting_ping() -> None:
    queue, _ = make(max_packets=3)
    queue.put_nowait(eio_packet.Packet(eio_packet.PING))
    queue.put_nowait(message("a"))
    queue.put_first([message("notice-1"), message("notice-2")])
    got = [await queue.get()] + [queue.get_nowait() for _ in range(3)]
    assert got[0].packet_type == eio_packet.PING
    assert [p.data for p in got[1:]] == ["notice-1", "notice-2", "a"]


async def test_discarded_packets_do_not_block_join() -> None:
    queue, _ = make(max_packets=2)
    for n in range(3):
        queue.put_nowait(message(f"m{n}"))  # the third overflows and discards all
    await asyncio.wait_for(queue.join(), 1.0)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SendLimits(0, 10)
