"""The virtual-time loop: jumps land exactly on deadlines, and only at quiescence.

Each rule of ``scenarios.simtime.loop`` has a case: time stands still while a callback is
ready, while executor work or a hold runs, while bytes are in flight on loopback TCP and while
a connect is in progress; observers (``settled``) run before time moves, in their order; a
loop with nothing to do raises instead of hanging. The in-flight decision itself is a table.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakekubelet.clock import Clock as FleetClock
from metricsd.clock import Clock as MetricsdClock
from scenarios import simtime
from scenarios.simtime.inflight import Counters, classify, tcp_counters, undelivered
from scenarios.simtime.loop import SimEventLoop, SimulationStalled


def _run(coro, **kw):  # type: ignore[no-untyped-def]
    loop = SimEventLoop(**kw)
    return simtime.run(coro, loop=loop), loop


# ------------------------------------------------------------------------------ deadlines


def test_sleepers_of_every_kind_wake_in_deadline_order_at_their_exact_time() -> None:
    async def main() -> list[tuple[str, int]]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, SimEventLoop)
        woke: list[tuple[str, int]] = []

        async def via(name: str, wait) -> None:  # type: ignore[no-untyped-def]
            await wait
            woke.append((name, loop.time_ns))

        clock = loop.clock
        fired = asyncio.Event()
        loop.call_later(2.5, fired.set)
        await asyncio.gather(
            via("clock.sleep 3", clock.sleep(3)),
            via("asyncio.sleep 1", asyncio.sleep(1)),
            via("sleep_until +7", clock.sleep_until(clock.now() + 7)),
            via("call_later 2.5", fired.wait()),
            via("timeout 5", _timeout_after(5)),
        )
        return woke

    woke, loop = _run(main())
    assert woke == [
        ("asyncio.sleep 1", 1_000_000_000),
        ("call_later 2.5", 2_500_000_000),
        ("clock.sleep 3", 3_000_000_000),
        ("timeout 5", 5_000_000_000),
        ("sleep_until +7", 7_000_000_000),
    ]
    assert loop.stats.jumps == 5


async def _timeout_after(seconds: float) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(seconds):
            await asyncio.Event().wait()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(min_value=0.001, max_value=900, allow_nan=False), min_size=1,
                max_size=20))
def test_a_chain_of_sleeps_lands_on_the_rounded_sum_whatever_else_is_scheduled(
    delays: list[float],
) -> None:
    async def main() -> tuple[int, list[int]]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, SimEventLoop)
        others = [loop.call_later(d * 0.37, lambda: None) for d in delays]  # extra jumps
        seen = []
        expected = 0.0
        for d in delays:
            expected += d
            await loop.clock.sleep_until_elapsed(expected)
            seen.append(loop.time_ns)
        del others
        return round(expected * 1e9), seen

    (expected_ns, seen), _ = _run(main())
    assert seen == sorted(seen)
    assert abs(seen[-1] - expected_ns) <= 1  # exact to the nanosecond, however it jumped


def test_ten_sleeps_of_a_tenth_make_exactly_one_second() -> None:
    async def main() -> int:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, SimEventLoop)
        for _ in range(10):
            await loop.clock.sleep(0.1)
        return loop.time_ns

    ns, _ = _run(main())
    assert ns == 1_000_000_000


def test_the_clock_fits_every_components_clock_protocol_and_maps_to_unix_time() -> None:
    async def main() -> tuple[float, float, float]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, SimEventLoop)
        clock = loop.clock
        assert isinstance(clock, MetricsdClock)
        assert isinstance(clock, FleetClock)
        before = clock.now()
        await clock.sleep_until(before + 0.1234567)
        return before, clock.now(), clock.monotonic()

    (before, after, mono), _ = _run(main(), start=1_700_000_000.0)
    assert before == 1_700_000_000.0
    assert after >= before + 0.1234567  # sleep_until never returns early
    assert mono == pytest.approx(0.1234567, abs=1e-6)


def test_the_clock_refuses_to_be_waited_on_from_another_loop() -> None:
    sim = SimEventLoop()
    try:
        with pytest.raises(RuntimeError, match="its own SimEventLoop"):
            asyncio.run(sim.clock.sleep(1))
    finally:
        sim.close()


# ------------------------------------------------------------------------------ quiescence


def test_time_stands_still_while_callbacks_keep_the_loop_busy() -> None:
    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, SimEventLoop)
        due = asyncio.ensure_future(loop.clock.sleep(0.001))
        for _ in range(2000):  # 2000 loop iterations of pure callbacks
            await asyncio.sleep(0)
        at = loop.time_ns
        await due
        return at, loop.time_ns

    (during, after), _ = _run(main())
    assert during == 0
    assert after == 1_000_000


def test_executor_work_holds_time_even_with_a_deadline_pending() -> None:
    async def main() -> tuple[int, bool, int]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, SimEventLoop)
        sleeper = asyncio.ensure_future(loop.clock.sleep(0.000001))
        await asyncio.sleep(0)
        await loop.run_in_executor(None, time.sleep, 0.2)  # real work outside the loop
        held = loop.time_ns
        fired = sleeper.done()
        await sleeper
        return held, fired, loop.time_ns

    (held, fired, after), loop = _run(main())
    assert held == 0 and not fired  # the 1 µs deadline waited 0.2 real seconds
    assert after == 1000
    assert loop.stats.busy > 0


def test_hold_keeps_time_still_while_a_thread_works() -> None:
    async def main() -> int:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, SimEventLoop)
        done = asyncio.Event()
        pending = asyncio.ensure_future(loop.clock.sleep(60))

        def work() -> None:
            time.sleep(0.1)
            loop.call_soon_threadsafe(done.set)

        with loop.hold():
            threading.Thread(target=work).start()
            await done.wait()
        at = loop.time_ns
        pending.cancel()
        return at

    at, _ = _run(main())
    assert at == 0


def test_a_loopback_transfer_completes_before_any_pending_deadline_fires() -> None:
    """16 MiB through a small receive buffer: many loop turns wait on the kernel, with a
    1 ms deadline pending all the time; virtual time must not move until the last byte."""
    size = 16 * 1024 * 1024

    async def main() -> tuple[int, int, int]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, SimEventLoop)
        got = 0
        finished = asyncio.Event()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"x" * size)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        deadline = asyncio.ensure_future(loop.clock.sleep(0.001))

        async def drain() -> None:
            nonlocal got
            while chunk := await reader.read(65536):
                got += len(chunk)
            finished.set()

        await drain()
        at = loop.time_ns
        fired = deadline.done()
        writer.close()
        server.close()
        await server.wait_closed()
        await deadline
        return got, at, int(fired)

    (got, at, fired), _ = _run(main())
    assert got == size
    assert at == 0 and fired == 0


def test_a_connect_in_progress_holds_time_until_it_completes() -> None:
    """The listener's accept queue is full, so the kernel drops our SYN and resends it a
    second later: for that real second nothing is readable or writable, and a 1 ms deadline is
    pending — the connect (SYN_SENT) must still hold virtual time."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(0)  # room for one queued connection
        addr = srv.getsockname()
        filler = socket.create_connection(addr)

        def make_room() -> None:
            time.sleep(0.3)
            conn, _ = srv.accept()
            conn.close()

        async def main() -> tuple[int, bool, str]:
            loop = asyncio.get_running_loop()
            assert isinstance(loop, SimEventLoop)
            deadline = asyncio.ensure_future(loop.clock.sleep(0.001))
            await asyncio.sleep(0)
            threading.Thread(target=make_room).start()
            began = time.monotonic()
            _, writer = await asyncio.open_connection(*addr)
            waited = time.monotonic() - began
            at, fired = loop.time_ns, deadline.done()
            writer.close()
            await deadline
            return at, fired, f"{waited:.1f}"

        with filler:
            (at, fired, waited), loop = _run(main())
    assert float(waited) >= 0.3  # the connect really waited for the retransmitted SYN
    assert at == 0 and not fired
    assert loop.stats.busy > 0


def test_a_reader_that_waits_on_the_clock_does_not_stall_a_blocked_writer() -> None:
    """The writer's buffer is full because the reader sleeps before reading: that wait is on
    the clock, so time must move (the bytes are not in flight, they wait for the reader)."""

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, SimEventLoop)
        size = 8 * 1024 * 1024

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"y" * size)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=4096)
        await loop.clock.sleep(30)  # the server's writes fill every buffer meanwhile
        got = 0
        while chunk := await reader.read(1 << 20):
            got += len(chunk)
        writer.close()
        server.close()
        await server.wait_closed()
        return got, loop.time_ns

    (got, ns), _ = _run(main(), stall_timeout=5)
    assert got == 8 * 1024 * 1024
    assert ns == 30_000_000_000


def test_settled_waiters_run_one_at_a_time_in_order_after_the_instants_work() -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, SimEventLoop)
        log: list[str] = []

        async def worker() -> None:
            await loop.clock.sleep(5)
            for _ in range(50):
                await asyncio.sleep(0)  # a chain of work at t=5
            log.append(f"work@{loop.time_ns}")

        async def observer(name: str, order: float) -> None:
            await loop.clock.sleep(5)
            await loop.clock.settled(order)
            log.append(f"{name}@{loop.time_ns}")
            await asyncio.sleep(0)
            log.append(f"{name} done")

        later = asyncio.ensure_future(loop.clock.sleep(6))
        await asyncio.gather(observer("second", 2), worker(), observer("first", 1))
        await later
        return log

    log, _ = _run(main())
    t = 5_000_000_000
    assert log == [f"work@{t}", f"first@{t}", "first done", f"second@{t}", "second done"]


def test_a_loop_with_nothing_scheduled_raises_instead_of_hanging() -> None:
    async def main() -> None:
        await asyncio.Event().wait()  # nothing will ever set it

    with pytest.raises(SimulationStalled, match="nothing was scheduled"):
        _run(main(), stall_timeout=0.2)


# ------------------------------------------------------------------------------ in flight


@pytest.mark.parametrize(
    ("sender", "receiver", "unacked", "pending", "expected"),
    [
        # nothing written, nothing pending: quiet
        (Counters(1, 0, 0, 0), Counters(1, 0, 0, 0), 0, False, False),
        # delivered but the ACK is delayed: not in flight
        (Counters(1, 500, 0, 0), Counters(1, 0, 0, 500), 500, False, False),
        # on the wire, not yet in the peer's queue
        (Counters(1, 500, 0, 0), Counters(1, 0, 0, 300), 200, False, True),
        # a retransmission does not count twice
        (Counters(1, 600, 100, 0), Counters(1, 0, 0, 500), 0, False, False),
        # window full: unsent bytes wait for the peer's application, not for the network
        (Counters(1, 65536, 0, 0), Counters(1, 0, 0, 65536), 0, True, False),
        # a connect in progress (SYN_SENT)
        (Counters(2, 0, 0, 0), None, 0, True, True),
        # a peer outside this process: unacked or pending bytes count as in flight
        (Counters(1, 500, 0, 0), None, 500, False, True),
        (Counters(1, 500, 0, 0), None, 0, True, True),
        (Counters(1, 500, 0, 0), None, 0, False, False),
        # no counters (not Linux ≥ 4.19): only the cheap test
        (None, None, 1, False, True),
        (None, None, 0, False, False),
    ],
)
def test_in_flight_decision(sender: Counters | None, receiver: Counters | None, unacked: int,
                            pending: bool, expected: bool) -> None:
    assert undelivered(sender, receiver, unacked=unacked, pending=pending) is expected


def test_tcp_counters_read_what_was_sent_and_received() -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        client = socket.create_connection(srv.getsockname())
        server, _ = srv.accept()
        with client, server:
            client.sendall(b"z" * 12345)
            assert server.recv(12345, socket.MSG_WAITALL) == b"z" * 12345
            mine, theirs = tcp_counters(client.fileno()), tcp_counters(server.fileno())
            assert mine is not None and theirs is not None
            assert mine.state == theirs.state == 1  # ESTABLISHED
            assert mine.sent - mine.retrans == theirs.received == 12345
            assert not undelivered(mine, theirs, unacked=0, pending=False)
            assert classify(client.fileno()) is not None
            assert classify(srv.fileno()) is None  # listening sockets are not streams
    a, b = socket.socketpair()
    with a, b:
        assert classify(a.fileno()) is None  # Unix sockets deliver at once
