"""Is any byte still travelling between two sockets of this process? (Linux, TCP on loopback.)

The quiescence rule (:mod:`scenarios.simtime.loop`) may move virtual time only when no I/O
can still arrive. A readable or writable socket shows up in a zero-timeout ``select``; what
does not is data that a sender has written but the receiver's kernel queue does not hold yet
(loopback delivery runs in a softirq that a loaded machine can defer). The sender's
``SIOCOUTQ`` (bytes written and not yet acknowledged) is the cheap first test: zero means
nothing is in flight from that socket. It is not enough on its own: the receiver may delay
its ACK for tens of milliseconds (delayed ACK) although the data has long been delivered. So
a socket with unacknowledged bytes is paired with its peer among this process's sockets (by
address) and the two ``TCP_INFO`` counters are compared: bytes the sender has handed to TCP
(sent, minus retransmissions, plus not yet sent) against bytes the receiver has received.
Equal means delivered. A socket whose peer is not ours (another process) counts as in flight
while it has unacknowledged bytes — the conservative answer.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import socket
import struct
import termios

__all__ = ["StreamSocket", "classify", "in_flight"]

SIOCOUTQ = termios.TIOCOUTQ  # same request number on sockets: bytes not yet acknowledged

# struct tcp_info (linux/tcp.h): offsets of the fields read here
_NOTSENT = 144  # __u32 tcpi_notsent_bytes
_RECEIVED = 128  # __u64 tcpi_bytes_received
_SENT = 200  # __u64 tcpi_bytes_sent (Linux 4.19+), then __u64 tcpi_bytes_retrans
_INFO_LEN = 216


class StreamSocket:
    """What is known about one registered TCP socket (by file descriptor)."""

    __slots__ = ("fd", "local", "peer")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.local: tuple[object, ...] | None = None
        self.peer: tuple[object, ...] | None = None

    def unacked(self) -> int:
        buf = array.array("i", [0])
        try:
            fcntl.ioctl(self.fd, SIOCOUTQ, buf)
        except OSError:
            return 0  # closed under us: nothing more will come from it
        return int(buf[0])

    def names(self) -> tuple[tuple[object, ...] | None, tuple[object, ...] | None]:
        """(local, peer) addresses, read once the socket is connected."""
        if self.peer is None:
            with _borrowed(self.fd) as sock:
                if sock is not None:
                    with contextlib.suppress(OSError):
                        self.local = tuple(sock.getsockname())
                        self.peer = tuple(sock.getpeername())
        return self.local, self.peer


@contextlib.contextmanager
def _borrowed(fd: int):  # type: ignore[no-untyped-def]
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


def _tcp_info(fd: int) -> bytes | None:
    with _borrowed(fd) as sock:
        if sock is None:
            return None
        try:
            info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
        except OSError:
            return None
    return info if len(info) >= _INFO_LEN else None


def _written(info: bytes) -> int:
    sent, retrans = struct.unpack_from("QQ", info, _SENT)
    (notsent,) = struct.unpack_from("I", info, _NOTSENT)
    return int(sent - retrans + notsent)


def _received(info: bytes) -> int:
    (received,) = struct.unpack_from("Q", info, _RECEIVED)
    return int(received)


def in_flight(sender: StreamSocket, by_local: dict[tuple[object, ...], StreamSocket]) -> bool:
    """True when bytes written on ``sender`` have not all reached its peer's receive queue.

    ``by_local`` maps local addresses to this process's registered TCP sockets.
    """
    if sender.unacked() == 0:
        return False
    _, peer = sender.names()
    receiver = by_local.get(peer) if peer is not None else None
    if receiver is None:
        return True  # unacknowledged bytes to a peer we cannot see
    mine, theirs = _tcp_info(sender.fd), _tcp_info(receiver.fd)
    if mine is None or theirs is None:
        return True
    return _written(mine) > _received(theirs)
