"""A real metricsd process against a kubelet answering with a gzip bomb: peak RSS and API stall.

Prints figures, asserts nothing. The simulated control plane (``python -m fakeapiserver``, two
nodes) runs in its own process; one more Node points at a TLS server (another process, its
own loopback address, port 10250) that answers every scrape with ``--inflated-mib`` MiB of
zeros in gzip (1024 MiB ≈ 1 MB on the wire, the attack of issue 11). metricsd scrapes with
``--kubelet-insecure-tls`` every ``--resolution`` seconds; while it scrapes the bomb for
``--cycles`` cycles the benchmark polls ``/livez`` every 100 ms (the longest answer is the
"API stall") and samples the process's RSS; at the end it reads ``VmHWM`` (peak RSS).

To measure a commit without the bound, run the benchmark from an export of it, e.g.::

    git archive main | tar -x -C /tmp/old
    cp metricsd/scraper/_scan*.so /tmp/old/metricsd/scraper/   # the decoder's C accelerator
    python bench/metricsd_bomb_bench.py --source /tmp/old
    python bench/metricsd_bomb_bench.py                      # this checkout

``--source`` only changes where metricsd is imported from (``PYTHONPATH``); the control
plane and the bomb always come from this checkout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import ssl
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from fakeapiserver.pki import kubeconfig_identity, unverified_client_context
from fakekubelet.addresses import free_loopback_base, free_port

HERE = Path(__file__).resolve().parents[1]

BOMB_SERVER = r'''
import asyncio, ssl, sys, zlib, trustme
from aiohttp import web
address, mib = sys.argv[1], int(sys.argv[2])
out = zlib.compressobj(9, zlib.DEFLATED, 31); zeros = bytes(1 << 20)
bomb = b"".join(out.compress(zeros) for _ in range(mib)) + out.flush()
ca = trustme.CA(); ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ca.issue_cert(address).configure_cert(ctx)
async def handle(request):
    return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})
async def main():
    app = web.Application(); app.router.add_get("/metrics/resource", handle)
    runner = web.AppRunner(app, access_log=None); await runner.setup()
    await web.TCPSite(runner, address, 10250, ssl_context=ctx).start()
    print(len(bomb), flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
'''


def _status(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values


class Lines:
    """A child's combined output, kept line by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.changed = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            self.changed.set()
        self.changed.set()

    def count(self, pattern: str) -> int:
        regex = re.compile(pattern)
        return sum(1 for line in self.lines if regex.search(line))

    async def until(self, pattern: str, count: int = 1, timeout: float = 300) -> None:
        async with asyncio.timeout(timeout):
            while self.count(pattern) < count:
                if self.proc.returncode is not None:
                    raise RuntimeError("\n".join(self.lines[-30:]))
                self.changed.clear()
                await self.changed.wait()


async def _spawn(*args: str, pythonpath: str | None = None) -> Lines:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env=env, cwd=pythonpath or str(HERE))
    return Lines(proc)


async def _stop(lines: Lines) -> None:
    if lines.proc.returncode is None:
        lines.proc.terminate()
        try:
            async with asyncio.timeout(15):
                await lines.proc.wait()
        except TimeoutError:
            lines.proc.kill()
            await lines.proc.wait()


def _admin_context(state: Path) -> tuple[str, ssl.SSLContext]:
    doc = yaml.safe_load((state / "kubeconfig").read_text())
    ctx = unverified_client_context(kubeconfig_identity(state / "kubeconfig"))
    return str(doc["clusters"][0]["cluster"]["server"]), ctx


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="metricsd-bomb-"))
    state = work / "cp"
    cp = await _spawn("-m", "fakeapiserver", "--state-dir", str(state), "--nodes", "2",
                      "--pods-per-node", "3", "--cert-mode", "ca-signed", "--address-base",
                      free_loopback_base(2), "--seed", "3", "--apiservice-backend",
                      f"127.0.0.1:{free_port()}")
    procs = [cp]
    try:
        await cp.until(r"fakeapiserver: ready", timeout=180)
        address = free_loopback_base(1)
        bomb = await _spawn("-c", BOMB_SERVER, address, str(args.inflated_mib))
        procs.append(bomb)
        await bomb.until(r"^\d+$", timeout=180)
        wire = int(bomb.lines[-1])
        print(f"bomb: {args.inflated_mib} MiB inflated, {wire} bytes on the wire at "
              f"{address}:10250", flush=True)
        port = free_port()
        flags = ["--kubeconfig", str(state / "kubeconfig"), "--bind-address", "127.0.0.1",
                 "--secure-port", str(port), "--cert-dir", str(work / "certs"),
                 "--metric-resolution", f"{args.resolution}s", "--kubelet-request-timeout",
                 f"{max(1, args.resolution // 2)}s", "--simulation-min-metric-resolution", "1s",
                 "--kubelet-preferred-address-types", "InternalIP", "--kubelet-insecure-tls",
                 "-v", "1", *args.metricsd_flag]
        source = args.source or None  # made absolute in main()
        metricsd = await _spawn("-m", "metricsd", *flags, pythonpath=source)
        procs.append(metricsd)
        finished = r'"Scrape finished"'
        await metricsd.until(finished, 1, timeout=120)
        pid = metricsd.proc.pid
        before = _status(pid)
        print(f"metricsd up (pid {pid}, source {source or HERE}): RSS "
              f"{before['VmRSS'] / 2**20:.0f} MiB, peak {before['VmHWM'] / 2**20:.0f} MiB",
              flush=True)
        server, admin = _admin_context(state)
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "bomb"},
                "status": {"addresses": [{"type": "InternalIP", "address": address}]}}
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{server}/api/v1/nodes", json=node, ssl=admin) as resp:
                assert resp.status == 201, await resp.text()
            insecure = ssl.create_default_context()
            insecure.check_hostname = False
            insecure.verify_mode = ssl.CERT_NONE
            stalls: list[float] = []
            rss_peak = 0
            bomb_line = r'"Failed to scrape node".*node="bomb"'
            target = metricsd.count(finished) + args.cycles + 1

            async def poll() -> None:
                nonlocal rss_peak
                while True:
                    start = time.monotonic()
                    try:
                        async with session.get(f"https://127.0.0.1:{port}/livez",
                                               ssl=insecure) as answer:
                            await answer.read()
                    except aiohttp.ClientError:
                        pass
                    stalls.append(time.monotonic() - start)
                    rss_peak = max(rss_peak, _status(pid)["VmRSS"])
                    await asyncio.sleep(0.1)

            poller = asyncio.create_task(poll())
            try:
                for cycle in range(1, args.cycles + 1):
                    await metricsd.until(bomb_line, cycle, timeout=args.resolution * 20 + 120)
                    now = _status(pid)
                    print(f"bomb scrape {cycle}/{args.cycles}: RSS {now['VmRSS'] / 2**20:.0f} "
                          f"MiB, peak so far {now['VmHWM'] / 2**20:.0f} MiB, longest /livez "
                          f"{max(stalls or [0]):.2f} s", flush=True)
                await metricsd.until(finished, target, timeout=args.resolution * 20 + 120)
            finally:
                poller.cancel()
        after = _status(pid)
        errors = [line for line in metricsd.lines if re.search(bomb_line, line)]
        return {
            "source": source or str(HERE),
            "inflated_mib": args.inflated_mib,
            "wire_bytes": wire,
            "rss_before_mib": round(before["VmRSS"] / 2**20),
            "peak_rss_before_mib": round(before["VmHWM"] / 2**20),
            "peak_rss_after_mib": round(after["VmHWM"] / 2**20),
            "sampled_rss_peak_mib": round(rss_peak / 2**20),
            "rss_after_mib": round(after["VmRSS"] / 2**20),
            "longest_livez_s": round(max(stalls or [0]), 3),
            "livez_polls": len(stalls),
            "bomb_error": errors[-1].split("] ", 1)[-1] if errors else "",
        }
    finally:
        for proc in reversed(procs):
            await _stop(proc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inflated-mib", type=int, default=1024,
                    help="size of the bomb once inflated (MiB)")
    ap.add_argument("--cycles", type=int, default=3, help="bomb scrapes to wait for")
    ap.add_argument("--resolution", type=int, default=5, help="--metric-resolution (s)")
    ap.add_argument("--source", default="", help="import metricsd from this directory")
    ap.add_argument("--metricsd-flag", action="append", default=[],
                    help="extra metricsd flag (repeatable), e.g. --kubelet-max-body-size=0")
    args = ap.parse_args()
    if args.source:
        args.source = os.path.abspath(args.source)
    figures = asyncio.run(run(args))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
