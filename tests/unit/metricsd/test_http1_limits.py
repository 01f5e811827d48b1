"""The kubelet client's bound on response bodies (``metricsd.scraper.http1.BodyLimit``).

A kubelet (or whatever answers on its address) can send a body of any size, or a small gzip
body that inflates to gigabytes. The bound applies to the bytes received and to the bytes
inflated, each counted as they arrive, so a bomb fails after at most ``limit`` inflated bytes
and memory stays near the bound; the connection is never reused after such a failure.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import tracemalloc
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metricsd.scraper.http1 import BodyLimit, ConnectionPool, ResponseError
from tests.unit.metricsd.test_http1_oracle import HOST, Script, ScriptedServer, chunked, head_for

LIMIT = BodyLimit(1000, "--kubelet-max-body-size=1000")
RAW_TOO_LARGE = "http: response body too large (over --kubelet-max-body-size=1000)"
INFLATED_TOO_LARGE = ("gzip: decompressed response body too large "
                      "(over --kubelet-max-body-size=1000)")


def _answer(body: bytes, frame: str, *, gzip_encoded: bool = False) -> bytes:
    head = "HTTP/1.1 200 OK\r\n"
    if gzip_encoded:
        head += "Content-Encoding: gzip\r\n"
    if frame == "length":
        return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    if frame == "chunked":
        return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + chunked(
            body, [300, 7], False)
    return (head + "Connection: close\r\n\r\n").encode() + body


async def _get(pieces: list[bytes], limit: BodyLimit | None = LIMIT, *,
               close_after: bool = True) -> bytes | str:
    async with ScriptedServer(lambda: Script(pieces, close_after=close_after)) as server:
        pool = ConnectionPool(None, limit=limit)
        try:
            resp = await pool.get(HOST, server.port, head_for(server.port))
        except ResponseError as err:
            assert err.body_started  # the headers were in: upstream says "read body"
            assert pool.idle_count() == 0
            return err.text
        finally:
            await pool.close()
        return resp.body


async def _fails_while_held(pieces: list[bytes]) -> str:
    """The error text of a GET whose server sends ``pieces`` and then holds the connection
    open for ever: the failure must come from the bound, not from waiting for the rest."""
    never = asyncio.Event()
    script = Script(pieces, hold=never)
    async with ScriptedServer(lambda: script) as server:
        pool = ConnectionPool(None, limit=LIMIT)
        with pytest.raises(ResponseError) as info:
            await pool.get(HOST, server.port, head_for(server.port))
        await pool.close()
    return info.value.text


FRAMES = ["length", "chunked", "close"]


@pytest.mark.parametrize("frame", FRAMES)
@pytest.mark.parametrize(("size", "ok"), [(999, True), (1000, True), (1001, False)])
async def test_raw_body_bound(frame: str, size: int, ok: bool) -> None:
    body = b"x" * size
    got = await _get([_answer(body, frame)])
    assert got == (body if ok else RAW_TOO_LARGE)


@pytest.mark.parametrize("frame", FRAMES)
@pytest.mark.parametrize(("size", "ok"), [(999, True), (1000, True), (1001, False)])
async def test_inflated_body_bound(frame: str, size: int, ok: bool) -> None:
    body = b"y" * size  # compresses to a few dozen bytes: only the inflated size is over
    got = await _get([_answer(gzip.compress(body, mtime=0), frame, gzip_encoded=True)])
    assert got == (body if ok else INFLATED_TOO_LARGE)


async def test_announced_length_over_the_bound_fails_before_the_body_arrives() -> None:
    # the server announces 10 GB and sends nothing more: waiting for it would hang the test
    pieces = [b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n", b"x"]
    assert await _fails_while_held(pieces) == RAW_TOO_LARGE


async def test_endless_chunked_bomb_fails_as_soon_as_the_bound_is_passed() -> None:
    # a stream of gzip that never ends: the failure must not wait for the end
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    stream = bomb.compress(b"\0" * 100_000) + bomb.flush(zlib.Z_SYNC_FLUSH)
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
    pieces = [head + f"{len(stream):x}\r\n".encode() + stream + b"\r\n", b"0\r\n\r\n"]
    assert await _fails_while_held(pieces) == INFLATED_TOO_LARGE


async def test_a_bomb_inflates_no_further_than_the_bound_and_is_let_go_at_once() -> None:
    """64 MiB of zeros in 64 KiB of gzip against a 4 MiB bound: Python allocations peak near the
    bound (not at 64 MiB), and nothing of the body outlives the failure — not even until the
    next garbage collection (the error's traceback keeps the connection in a cycle)."""
    inflated = 64 << 20
    bomb = gzip.compress(b"\0" * inflated, compresslevel=9, mtime=0)
    bound = 4 << 20
    limit = BodyLimit(bound, "--kubelet-max-body-size=4Mi")
    gc.disable()
    tracemalloc.start()
    try:
        got = await _get([_answer(bomb, "length", gzip_encoded=True)], limit)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gc.enable()
    assert got == ("gzip: decompressed response body too large "
                   "(over --kubelet-max-body-size=4Mi)")
    assert peak < bound + (2 << 20) + 4 * len(bomb), peak
    assert current < 1 << 20, current


async def test_no_limit_reads_everything() -> None:
    body = b"z" * 5000
    assert await _get([_answer(gzip.compress(body, mtime=0), "chunked", gzip_encoded=True)],
                      None) == body
    assert await _get([_answer(body, "close")], BodyLimit(0, "unbounded")) == body


async def test_the_bound_is_per_response_on_a_kept_alive_connection() -> None:
    body = b"k" * 900  # two of these exceed the bound together, each is within it
    answer = _answer(gzip.compress(body, mtime=0), "length", gzip_encoded=True)
    async with ScriptedServer(lambda: Script([answer])) as server:
        pool = ConnectionPool(None, limit=LIMIT)
        for _ in range(3):
            resp = await pool.get(HOST, server.port, head_for(server.port))
            assert resp.body == body
        assert server.connections == 1
        await pool.close()


async def test_corrupt_gzip_is_reported_while_reading() -> None:
    got = await _get([_answer(b"\x1f\x8b\x08\x00" + b"\xff" * 40, "length", gzip_encoded=True)])
    assert got == "flate: corrupt input"
    got = await _get([_answer(b"not gzip at all", "chunked", gzip_encoded=True)])
    assert got == "gzip: invalid header"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(min_value=0, max_value=2500), frame=st.sampled_from(FRAMES),
       compress=st.booleans(), limit=st.integers(min_value=1, max_value=2000))
def test_bound_holds_for_any_size(size: int, frame: str, compress: bool, limit: int) -> None:
    body = bytes(range(256)) * (size // 256) + bytes(size % 256)
    payload = gzip.compress(body, mtime=0) if compress else body
    bound = BodyLimit(limit, f"--kubelet-max-body-size={limit}")

    async def run() -> bytes | str:
        return await _get([_answer(payload, frame, gzip_encoded=compress)], bound)

    got = asyncio.run(run())
    raw_error = f"http: response body too large (over --kubelet-max-body-size={limit})"
    inflated_error = ("gzip: decompressed response body too large "
                      f"(over --kubelet-max-body-size={limit})")
    raw_over, inflated_over = len(payload) > limit, compress and len(body) > limit
    if not raw_over and not inflated_over:
        assert got == body
    elif raw_over and (not inflated_over or frame == "length"):
        assert got == raw_error  # an announced length is refused before any inflating
    elif not raw_over:
        assert got == inflated_error
    else:  # both over, read as it arrives: whichever bound is passed first
        assert got in (raw_error, inflated_error)
