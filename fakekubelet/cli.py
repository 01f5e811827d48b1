"""``fakekubelet``: serve a simulated kubelet fleet until SIGINT/SIGTERM.

Contract (other parts and outside checks rely on it): bad arguments or a bad spec exit 2 with
ONE line on stderr (``fakekubelet: error: <where>: <reason>``); before ``fakekubelet: N nodes
listening`` is printed (flushed) on stdout the state dir holds ``ca.crt``, ``client.crt``,
``client.key``, ``nodes.json`` and ``control.json``; SIGINT/SIGTERM stop it with exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from fakekubelet.addresses import free_loopback_base, port_free
from fakekubelet.certs import CERT_MODES

__all__ = ["build_cluster", "main", "parse_args"]

PROG = "fakekubelet"

EXAMPLES = """\
examples:
  # 3 nodes x 4 pods, CA-signed kubelet certificates, state files in ./state
  fakekubelet --nodes 3 --pods-per-node 4 --cert-mode ca-signed --state-dir ./state

  # kind-like kubelets (no IP SANs) on 127.9.0.1, 127.9.0.2, ...
  fakekubelet --nodes 2 --pods-per-node 10 --cert-mode no-ip-san --state-dir /tmp/fk \\
      --address-base 127.9.0.1

  # a fleet spec file; flags override its top-level counts
  fakekubelet --config examples/fleet-small.yaml --nodes 50 --state-dir /tmp/fk --seed 7

  # then scrape a node the way metrics-server does
  curl --cacert /tmp/fk/ca.crt --cert /tmp/fk/client.crt --key /tmp/fk/client.key \\
      https://127.9.0.1:10250/metrics/resource

cert modes: """ + ", ".join(CERT_MODES)


class UsageError(Exception):
    """A bad argument or spec: reported on one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _positive(flag: str, minimum: int) -> Any:
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            what = "a positive integer" if minimum > 0 else "a non-negative integer"
            raise UsageError(f"{flag}: expected {what}, got {text!r}".replace("'", '"'))
        return value

    return convert


def _cert_mode(text: str) -> str:
    if text not in CERT_MODES:
        raise UsageError(f'--cert-mode: expected one of {", ".join(CERT_MODES)}, got "{text}"')
    return text


DEFAULT_ADDRESS_BASE = "127.1.0.1"


def default_address_base(nodes: int, port: int = 10250) -> str:
    """127.1.0.1 when that block is free, else a free block: a second simulated cluster next to
    a running one (or a test beside the README's commands) just works, as a second kind cluster
    does. An explicit ``--address-base`` is used as given (and fails if it is busy)."""
    block = ipaddress.IPv4Address(DEFAULT_ADDRESS_BASE)
    if all(port_free(str(block + i), port) for i in range(nodes)):
        return DEFAULT_ADDRESS_BASE
    return free_loopback_base(nodes, port)


def _address_base(text: str) -> str:
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise UsageError(f'--address-base: expected an IPv4 address, got "{text}"') from None
    if address not in ipaddress.IPv4Network("127.0.0.0/8"):
        raise UsageError(
            f'--address-base: expected a loopback address in 127.0.0.0/8, got "{text}"'
        )
    return text


def add_fleet_arguments(parser: argparse.ArgumentParser, config_flag: str) -> None:
    """The flags that describe a fleet, shared with the control plane's CLI.

    ``config_flag`` names the spec-file flag (``--config`` here, ``--fleet-config`` there); its
    value lands in ``args.config``. Flags override the spec's top-level values.
    """
    parser.add_argument(
        config_flag,
        dest="config",
        default=None,
        metavar="FILE",
        help="fleet spec (YAML); flags override its top-level counts",
    )
    parser.add_argument(
        "--nodes",
        type=_positive("--nodes", 1),
        default=None,
        metavar="N",
        help="number of nodes (default 3, or the spec's count)",
    )
    parser.add_argument(
        "--pods-per-node",
        type=_positive("--pods-per-node", 0),
        default=None,
        metavar="P",
        help="pods per node (default 10, or the spec's)",
    )
    parser.add_argument(
        "--cert-mode",
        type=_cert_mode,
        default=None,
        metavar="MODE",
        help="kubelet serving certificate mode for every node (default "
        "ca-signed): " + ", ".join(CERT_MODES),
    )
    parser.add_argument(
        "--address-base",
        type=_address_base,
        default=None,
        metavar="IP",
        help="first node address (default 127.1.0.1, or a free block when that one is busy)",
    )
    parser.add_argument(
        "--seed",
        type=_positive("--seed", 0),
        default=None,
        metavar="S",
        help="random seed: same seed, same fleet",
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = _Parser(
        prog=PROG,
        description="Serve a fleet of simulated kubelets, each on its own loopback address.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_fleet_arguments(parser, config_flag="--config")
    parser.add_argument(
        "--state-dir",
        required=True,
        type=absolute_path,
        metavar="DIR",
        help="where ca.crt, client.crt/.key, nodes.json, control.json go",
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="serve anyone (no client certificate or token needed)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more")
    return parser.parse_args(argv)


def build_cluster(args: argparse.Namespace) -> Any:
    """The cluster the flags and the spec describe (raises ``UsageError`` on a bad spec)."""
    from fakekubelet.cluster import Cluster
    from fakekubelet.spec import SpecError, load_spec

    overrides: dict[str, Any] = {}
    if args.nodes is not None:
        overrides["nodes"] = args.nodes
    if args.pods_per_node is not None:
        overrides["pods_per_node"] = args.pods_per_node
    if args.cert_mode is not None:
        overrides["cert_mode"] = args.cert_mode
    if args.address_base is not None:
        overrides["address_base"] = args.address_base
    if args.seed is not None:
        overrides["seed"] = args.seed
    try:
        if args.config:
            spec = load_spec(args.config)
            return Cluster.from_spec(spec, **overrides)
        overrides.setdefault("nodes", 3)
        overrides.setdefault("pods_per_node", 10)
        overrides.setdefault("cert_mode", "ca-signed")
        if "address_base" not in overrides:
            overrides["address_base"] = default_address_base(int(overrides["nodes"]))
        return Cluster.generate(**overrides)
    except SpecError as err:
        raise UsageError(str(err)) from None
    except (ValueError, OSError) as err:
        where = f"{args.config}: " if args.config and str(args.config) not in str(err) else ""
        raise UsageError(f"{where}{err}") from None


async def serve(args: argparse.Namespace, cluster: Any) -> int:
    from fakekubelet.fleet import Fleet
    from fakekubelet.kubelet import limit_tls_read_buffer

    limit_tls_read_buffer()
    state_dir = Path(args.state_dir)
    fleet = Fleet(cluster, state_dir, auth=not args.no_auth)

    def announce() -> None:
        print(
            f"{PROG}: control endpoint {fleet.control_url}, state in {state_dir} "
            f"(started in {fleet.startup_seconds:.2f}s)",
            file=sys.stderr,
            flush=True,
        )
        print(f"{PROG}: {len(cluster.nodes)} nodes listening", flush=True)

    return await run_until_signalled(PROG, fleet.start, fleet.stop, announce)


async def run_until_signalled(prog: str, start: Callable[[], Awaitable[None]],
                              stop: Callable[[], Awaitable[None]],
                              announce: Callable[[], None]) -> int:
    """The simulators' shared process lifecycle: start, announce, serve until SIGINT/SIGTERM,
    stop. A start that cannot listen is ``<prog>: error: cannot listen: …`` and exit 1."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        try:
            await start()
        except OSError as err:
            with contextlib.suppress(Exception):
                await stop()
            print(f"{prog}: error: cannot listen: {err}", file=sys.stderr, flush=True)
            return 1
        announce()
        await stopping.wait()
        await stop()
        print(f"{prog}: stopped", file=sys.stderr, flush=True)
        return 0
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def absolute_path(text: str) -> str:
    """A path flag made absolute once, as it is parsed, against the directory it was typed in:
    what reads it later (a pod's process, with a working directory of its own) is elsewhere."""
    return os.path.abspath(text)


def prepare_state_dir(path: str | Path) -> Path:
    """The state directory, created if needed (``UsageError`` naming ``--state-dir`` if not)."""
    state_dir = Path(path)
    if state_dir.exists() and not state_dir.is_dir():
        raise UsageError(f"--state-dir: {state_dir} exists and is not a directory")
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"--state-dir: cannot create {state_dir}: {err.strerror}") from None
    return state_dir


def claim_state_dir(path: str | Path) -> Any:
    """Claim the state dir for this process (``fakekubelet.statedir``) before anything in it
    is touched; ``UsageError`` naming the holder's PID when another instance has it.

    Keep the returned lock referenced for as long as the process serves: the claim ends with
    the process (or ``release()``).
    """
    from fakekubelet.statedir import StateDirBusy
    from fakekubelet.statedir import claim_state_dir as claim

    try:
        return claim(path)
    except StateDirBusy as err:
        raise UsageError(
            f"--state-dir: {err}; stop it, or choose another directory with --state-dir"
        ) from None
    except OSError as err:
        raise UsageError(f"--state-dir: cannot lock {path}: {err.strerror}") from None


def configure_logging(verbose: int) -> None:
    """``-v`` → INFO, ``-vv`` → DEBUG, on stderr (stdout carries the readiness line only)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname).1s %(name)s: %(message)s",
    )


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        prepare_state_dir(args.state_dir)
        lock = claim_state_dir(args.state_dir)
        cluster = build_cluster(args)
    except UsageError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr, flush=True)
        return 2
    configure_logging(args.verbose)
    try:
        return asyncio.run(serve(args, cluster))
    except KeyboardInterrupt:
        return 0
    finally:
        lock.release()


if __name__ == "__main__":
    sys.exit(main())
