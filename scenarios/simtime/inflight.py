"""Is any byte still travelling between two sockets of this process? (Linux, TCP on loopback.)

The quiescence rule (:mod:`scenarios.simtime.loop`) may move virtual time only when no I/O
can still arrive. A readable or writable socket shows up in a zero-timeout ``select``; what
does not is data that a sender has handed to TCP but the receiver's kernel queue does not hold
yet (loopback delivery runs in a softirq that a loaded machine can defer), and a connection
whose SYN is still on its way. The sender's ``SIOCOUTQ`` (bytes not yet acknowledged) is the
cheap first test: zero, with no pending output and no connect in progress, means nothing is in
flight from that socket. It is not enough on its own: the receiver may delay its ACK for tens
of milliseconds although the data has long been delivered. So a suspect socket is paired with
its peer among this process's sockets (by address) and their ``TCP_INFO`` counters are
compared (:func:`undelivered`): bytes the sender put on the wire (sent minus retransmitted)
against bytes the peer has received. Equal means delivered. Bytes that TCP has not sent yet
because the peer's window is full are *not* in flight: they wait for the peer's application to
read, which is a task the loop sees as runnable or waiting. A socket whose peer is not ours
(another process) counts as in flight while it has unacknowledged or pending bytes — the
conservative answer.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import socket
import struct
import termios
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Counters", "StreamSocket", "classify", "tcp_counters", "undelivered"]

SIOCOUTQ = termios.TIOCOUTQ  # same request number on sockets: bytes not yet acknowledged
TCP_SYN_SENT = 2  # linux/tcp_states.h

# struct tcp_info (linux/tcp.h): offsets of the fields read here
_RECEIVED = 128  # __u64 tcpi_bytes_received
_SENT = 200  # __u64 tcpi_bytes_sent (Linux 4.19+), then __u64 tcpi_bytes_retrans
_INFO_LEN = 216

Address = tuple[object, ...]
_BUF = array.array("i", [0])  # the ioctl's result (one loop thread uses it)


@dataclass(frozen=True, slots=True)
class Counters:
    """The ``TCP_INFO`` fields the decision needs."""

    state: int
    sent: int  # bytes put on the wire, retransmissions included
    retrans: int
    received: int  # bytes received in sequence


def undelivered(sender: Counters | None, receiver: Counters | None, *, unacked: int,
                pending: bool) -> bool:
    """Whether bytes from ``sender`` may still arrive somewhere.

    ``receiver``: the peer's counters when the peer is one of ours, else None. ``unacked``:
    the sender's ``SIOCOUTQ``; ``pending``: the sender's transport waits to write (output
    buffered or a connect in progress).
    """
    if sender is None:
        return unacked > 0 or pending
    if sender.state == TCP_SYN_SENT:
        return True
    if receiver is None:
        return unacked > 0 or pending
    return sender.sent - sender.retrans > receiver.received


@contextlib.contextmanager
def _borrowed(fd: int) -> Iterator[socket.socket | None]:
    """A socket object over ``fd`` that never closes it."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        yield None
        return
    try:
        yield sock
    finally:
        sock.detach()


def tcp_counters(fd: int) -> Counters | None:
    with _borrowed(fd) as sock:
        if sock is None:
            return None
        try:
            info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
        except OSError:
            return None
    if len(info) < _INFO_LEN:
        return None
    sent, retrans = struct.unpack_from("QQ", info, _SENT)
    (received,) = struct.unpack_from("Q", info, _RECEIVED)
    return Counters(info[0], int(sent), int(retrans), int(received))


class StreamSocket:
    """What is known about one TCP socket of the loop (by file descriptor)."""

    __slots__ = ("fd", "local", "peer")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.local: Address | None = None
        self.peer: Address | None = None

    def unacked(self) -> int:
        try:
            fcntl.ioctl(self.fd, SIOCOUTQ, _BUF)
        except OSError:
            return 0  # closed under us: nothing more will come from it
        return _BUF[0]

    def names(self) -> tuple[Address | None, Address | None]:
        """(local, peer) addresses, read once the socket is connected."""
        if self.peer is None:
            with _borrowed(self.fd) as sock:
                if sock is not None:
                    with contextlib.suppress(OSError):
                        self.local = tuple(sock.getsockname())
                        self.peer = tuple(sock.getpeername())
        return self.local, self.peer

    def alive(self) -> bool:
        """Still the same open socket (its fd was not closed or reused)."""
        with _borrowed(self.fd) as sock:
            if sock is None:
                return False
            try:
                return self.local is None or tuple(sock.getsockname()) == self.local
            except OSError:
                return False


def classify(fd: int) -> StreamSocket | None:
    """A :class:`StreamSocket` for a connected or connecting TCP socket, else None (pipes,
    Unix sockets — delivery there is immediate — and listening sockets, whose pending
    connections a zero-timeout select reports)."""
    with _borrowed(fd) as sock:
        if sock is None:
            return None
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return None
        if sock.type != socket.SOCK_STREAM:
            return None
        try:
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                return None
        except OSError:
            return None
    return StreamSocket(fd)
