"""metricsd as a real process against hostile peers: a kubelet that answers with a gzip bomb.

The simulated control plane runs its fleet; one more Node object points at a TLS server on its
own loopback address that answers every scrape with a small gzip body inflating to 256 MiB.
metricsd must fail that node with the bounded-body error, keep scraping the others, and its
peak RSS must grow by about the bound (64 MiB), not by the inflated size.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import trustme
import yaml
from aiohttp import web

from fakekubelet.addresses import free_loopback_base
from tests.integration.test_metricsd_fleet import (
    ControlPlane,
    Proc,
    _admin,
    _get,
    _insecure,
    control_plane,
    start_metricsd,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

MiB = 1 << 20


def gzip_of_zeros(size: int) -> bytes:
    """A gzip member of ``size`` zero bytes, built without holding ``size`` bytes."""
    out = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MiB)
    parts = [out.compress(zeros) for _ in range(size // MiB)]
    return b"".join(parts) + out.flush()


@pytest.fixture
async def bomb_kubelet() -> AsyncIterator[str]:
    """A kubelet address (port 10250) whose /metrics/resource is a 256 MiB gzip bomb."""
    bomb = gzip_of_zeros(256 * MiB)

    async def handle(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip",
                                                "Content-Type": "text/plain"})

    address = free_loopback_base(1)
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(address).configure_cert(ctx)
    app = web.Application()
    app.router.add_get("/metrics/resource", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, address, 10250, ssl_context=ctx).start()
    try:
        yield address
    finally:
        await runner.cleanup()


async def add_node(cp: ControlPlane, name: str, address: str) -> None:
    """Create a Node (status included: the simulated API server keeps it) as the admin."""
    doc = yaml.safe_load((cp.state / "kubeconfig").read_text())
    server = doc["clusters"][0]["cluster"]["server"]
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"addresses": [{"type": "InternalIP", "address": address}]}}
    async with aiohttp.ClientSession() as session, session.post(
            f"{server}/api/v1/nodes", json=node, ssl=_admin(cp)) as resp:
        assert resp.status == 201, await resp.text()


async def wait_count(proc: Proc, pattern: str, count: int, timeout: float = 90) -> None:
    """Until ``count`` lines match (``Proc.wait_for`` returns the first match only)."""
    regex = re.compile(pattern)
    async with asyncio.timeout(timeout):
        while sum(1 for line in proc.lines if regex.search(line)) < count:
            assert proc.proc.returncode is None, proc.tail()
            proc._new.clear()
            await proc._new.wait()


def _peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


async def test_gzip_bomb_fails_only_its_node_and_memory_stays_near_the_bound(
        tmp_path: Path, bomb_kubelet: str) -> None:
    async with control_plane(tmp_path, "ca-signed", nodes=2, pods=3) as cp:
        proc, port = await start_metricsd(cp, tmp_path, "--kubelet-insecure-tls")
        try:
            await proc.wait_for(r'"Scrape finished" duration="[^"]+" nodeCount=2 podCount=6')
            before = _peak_rss_bytes(proc.proc.pid)
            await add_node(cp, "bomb", bomb_kubelet)
            failed = (r'"Failed to scrape node" err="failed to read response body - gzip: '
                      r'decompressed response body too large \(over '
                      r'--kubelet-max-body-size=64Mi\)" node="bomb"')
            line = await proc.wait_for(failed)
            assert line.startswith("E") and " scraper.go:149] " in line
            # two more cycles: the bomb again, the other two nodes scraped as usual
            await wait_count(proc, failed, 3)
            finished = r'"Scrape finished" duration="[^"]+" nodeCount=2 podCount=6'
            await wait_count(proc, finished, sum(
                1 for text in proc.lines if re.search(finished, text)) + 1)
            grown = _peak_rss_bytes(proc.proc.pid) - before
            assert grown < 160 * MiB, f"peak RSS grew by {grown / MiB:.0f} MiB"
            base = f"https://127.0.0.1:{port}"
            async with asyncio.timeout(20):
                while (await _get(f"{base}/readyz", _insecure()))[0] != 200:
                    await asyncio.sleep(0.2)
            status, body = await _get(f"{base}/apis/metrics.k8s.io/v1beta1/nodes", _admin(cp))
            assert status == 200, body
            assert "bomb" not in body and body.count('"name":"node-') == 2
        finally:
            assert await proc.stop() == 0, proc.tail()


# ------------------------------------------------------------------ the HTTP surface


KLOG_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ [\w.-]+:\d+\] ")


async def _answer(reader: asyncio.StreamReader, timeout: float) -> bytes:
    """One answer: its head, then Content-Length bytes or everything up to the close."""
    async with asyncio.timeout(timeout):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as err:
            return err.partial
        match = re.search(rb"\r\nContent-Length: (\d+)\r\n", head)
        if match is None:
            return head + await reader.read()
        return head + await reader.readexactly(int(match.group(1)))


async def _send(port: int, data: bytes, timeout: float = 20) -> bytes:
    _, context = None, _insecure()
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    try:
        writer.write(data)
        await writer.drain()
        return await _answer(reader, timeout)
    except (ConnectionError, TimeoutError):
        return b""
    finally:
        writer.close()


def _request(*lines: bytes, start: bytes = b"GET /livez HTTP/1.1") -> bytes:
    return b"\r\n".join((start, b"Host: 127.0.0.1", *lines)) + b"\r\n\r\n"


SURFACE = [
    # (request, expected status line prefix)
    (_request(b"X-Big: " + b"a" * 1_000_000), b"HTTP/1.1 200 OK"),
    (_request(b"X-Big: " + b"a" * (2 << 20)), b"HTTP/1.1 431 Request Header Fields Too Large"),
    (_request(*(b"X-%d: 1" % i for i in range(300))), b"HTTP/1.1 200 OK"),
    (b"GARBAGE\r\n\r\n", b"HTTP/1.1 400 Bad Request\r\n"),
    (_request(start=b"GET /livez HTTP/9.9"), b"HTTP/1.1 505 HTTP Version Not Supported"),
    (b"GET /livez HTTP/1.1\r\n\r\n", b"HTTP/1.1 400 Bad Request: missing required Host header"),
    (_request(b"Content-Length: abc", start=b"POST /livez HTTP/1.1"),
     b"HTTP/1.1 400 Bad Request\r\n"),
    (_request(b"Transfer-Encoding: gzip", start=b"POST /livez HTTP/1.1"),
     b"HTTP/1.1 501 Not Implemented"),
    (_request(b"Bad Name: v"), b"HTTP/1.1 400 Bad Request: invalid header name"),
    (bytes(range(256)) + b"\r\n\r\n", b"HTTP/1.1 400 Bad Request\r\n"),
]


async def test_http_surface_answers_as_go_and_logs_no_traceback(tmp_path: Path) -> None:
    import random

    async with control_plane(tmp_path, "ca-signed", nodes=1, pods=1) as cp:
        proc, port = await start_metricsd(cp, tmp_path, "--kubelet-insecure-tls")
        try:
            await proc.wait_for(re.escape("Serving securely on 127.0.0.1:"))
            for request, status in SURFACE:
                got = await _send(port, request)
                assert got.startswith(status), (request[:60], got[:200])
            # and a few hundred mutations of them: whatever the answer, nothing breaks
            rng = random.Random(11)
            for _ in range(40):
                base = bytearray(rng.choice(SURFACE)[0][:3000])
                for _ in range(rng.randint(1, 8)):
                    base[rng.randrange(len(base))] = rng.randrange(256)
                if rng.random() < 0.3:
                    del base[rng.randrange(len(base)):]
                got = await _send(port, bytes(base) + b"\r\n\r\n", timeout=1)
                assert got == b"" or got.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")), got[:100]
            status, _ = await _get(f"https://127.0.0.1:{port}/livez", _insecure())
            assert status == 200
        finally:
            assert await proc.stop() == 0, proc.tail()
    stray = [line for line in proc.lines if not KLOG_LINE.match(line)
             and not line.startswith(("\t", " >"))]
    assert stray == [], "\n".join(stray[:40])
    assert not any("Traceback" in line for line in proc.lines)
