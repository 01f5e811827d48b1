"""Every transport fault as a client sees it, switched while the endpoint is running."""

from __future__ import annotations

import asyncio
import errno
import gzip

import aiohttp
import pytest

from fakekubelet.certs import client_ssl_context

from .test_serve_support import ADDRESS, PAYLOAD, endpoint


async def test_gzip_only_when_asked_and_keep_alive_reuses_the_connection() -> None:
    async with endpoint() as ep:
        ctx = client_ssl_context(ep.ca, ep.client)
        created: list[object] = []
        reused: list[object] = []
        trace = aiohttp.TraceConfig()

        async def on_create(*args: object) -> None:
            created.append(args)

        async def on_reuse(*args: object) -> None:
            reused.append(args)

        trace.on_connection_create_end.append(on_create)
        trace.on_connection_reuseconn.append(on_reuse)
        async with aiohttp.ClientSession(auto_decompress=False, trace_configs=[trace]) as session:
            async with session.get(ep.url(), ssl=ctx, headers={"Accept-Encoding": "gzip"}) as r:
                assert r.headers["Content-Encoding"] == "gzip"
                assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
                assert gzip.decompress(await r.read()) == PAYLOAD
            async with session.get(ep.url(), ssl=ctx, headers={"Accept-Encoding": "identity"}) as r:
                assert "Content-Encoding" not in r.headers
                assert await r.read() == PAYLOAD
        assert ep.server.requests_served == 2
    # both requests on one TLS connection
    assert (len(created), len(reused)) == (1, 1)


async def test_http_status_fault_answers_that_status() -> None:
    async with endpoint() as ep, aiohttp.ClientSession() as session:
        ep.faults.http_status = 500
        ctx = client_ssl_context(ep.ca, ep.client)
        async with session.get(ep.url(), ssl=ctx) as resp:
            assert (resp.status, await resp.text()) == (500, "Internal Server Error")
        ep.faults.http_status = None
        async with session.get(ep.url(), ssl=ctx) as resp:
            assert resp.status == 200


async def test_latency_delays_the_answer_beyond_a_short_client_timeout() -> None:
    async with endpoint() as ep, aiohttp.ClientSession() as session:
        ctx = client_ssl_context(ep.ca, ep.client)
        ep.faults.latency_seconds = 60.0
        with pytest.raises(asyncio.TimeoutError):
            await session.get(ep.url(), ssl=ctx, timeout=aiohttp.ClientTimeout(total=0.3))
        ep.faults.latency_seconds = 0.0
        async with session.get(ep.url(), ssl=ctx) as resp:
            assert resp.status == 200


async def test_hang_holds_the_request_until_switched_off() -> None:
    async with endpoint() as ep, aiohttp.ClientSession() as session:
        ctx = client_ssl_context(ep.ca, ep.client)
        ep.faults.hang = True

        async def scrape() -> tuple[int, bytes]:
            async with session.get(ep.url(), ssl=ctx) as resp:
                return resp.status, await resp.read()

        task = asyncio.create_task(scrape())
        while ep.server.hanging == 0:
            await asyncio.sleep(0.01)
        assert not task.done()  # accepted (TLS done, request read) but not answered
        ep.faults.hang = False
        assert await task == (200, PAYLOAD)


async def test_truncated_body_is_an_incomplete_read() -> None:
    async with endpoint() as ep, aiohttp.ClientSession() as session:
        ep.faults.truncate_body = True
        with pytest.raises(aiohttp.ClientPayloadError) as err:
            ctx = client_ssl_context(ep.ca, ep.client)
            headers = {"Accept-Encoding": "identity"}
            async with session.get(ep.url(), ssl=ctx, headers=headers) as resp:
                assert resp.status == 200
                assert resp.content_length == len(PAYLOAD)
                await resp.read()
    assert "Not enough data to satisfy content length header" in str(err.value)


async def test_refused_connections_while_the_listener_is_closed() -> None:
    async with endpoint() as ep, aiohttp.ClientSession() as session:
        ctx = client_ssl_context(ep.ca, ep.client)
        await ep.server.unlisten("node-a")
        with pytest.raises(aiohttp.ClientConnectorError) as err:
            await session.get(ep.url(), ssl=ctx)
        assert err.value.os_error.errno == errno.ECONNREFUSED
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(ADDRESS, ep.listener.port)
        again = await ep.server.listen("node-a", ADDRESS, ep.listener.port, ep.listener.ssl_context)
        assert again.port == ep.listener.port
        async with session.get(ep.url(), ssl=ctx) as resp:
            assert resp.status == 200


async def test_refuse_flag_drops_a_kept_alive_connection() -> None:
    async with endpoint() as ep, aiohttp.ClientSession() as session:
        ctx = client_ssl_context(ep.ca, ep.client)
        async with session.get(ep.url(), ssl=ctx) as resp:
            assert resp.status == 200
        ep.faults.refuse_connections = True
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await session.get(ep.url(), ssl=ctx)
