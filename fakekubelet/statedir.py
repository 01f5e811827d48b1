"""One state dir, one instance: an exclusive ``flock`` on a lock file inside the state dir.

Why: the state dir holds a running cluster's identity (CA, keys, kubeconfig, ``nodes.json``).
A second ``fakekubelet`` or ``fakeapiserver`` started on the same dir would overwrite them and
cut every client of the first one off. So every process that writes or clears a state dir
claims it first: ``claim_state_dir(path)`` takes ``fcntl.flock(LOCK_EX | LOCK_NB)`` on
``<dir>/.lock`` and writes its PID there, or raises :class:`StateDirBusy` naming the holder.

The lock belongs to the open file, so the kernel releases it when the holder dies, however it
dies (SIGKILL included) — a stale lock file never blocks anyone; only a live holder does.
The descriptor is not inherited by child processes (Python opens files non-inheritable), so a
pod process the control plane started cannot keep the lock alive after the control plane.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from pathlib import Path
from types import TracebackType

__all__ = ["LOCK_FILE", "StateDirBusy", "StateDirLock", "claim_state_dir"]

LOCK_FILE = ".lock"


class StateDirBusy(RuntimeError):
    """Another live process holds the state dir; ``pid`` is its PID (None if unknown)."""

    def __init__(self, path: Path, pid: int | None) -> None:
        holder = f"PID {pid}" if pid is not None else "PID unknown"
        super().__init__(f"{path} is in use by another instance ({holder})")
        self.path = path
        self.pid = pid


class StateDirLock:
    """A claimed state dir; the claim lasts until :meth:`release` or the process's death."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def clear(self) -> None:
        """Remove everything in the state dir but the lock file (only while holding it)."""
        if self._fd is None:
            raise RuntimeError(f"{self.path}: not claimed")
        for entry in self.path.iterdir():
            if entry.name == LOCK_FILE:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StateDirLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def claim_state_dir(path: str | os.PathLike[str]) -> StateDirLock:
    """Create the state dir if needed and claim it, or raise :class:`StateDirBusy`.

    ``OSError`` (a path that is not a directory, no permission) is left to the caller.
    """
    state_dir = Path(path)
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_pid(fd)
        os.close(fd)
        raise StateDirBusy(state_dir, holder) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return StateDirLock(state_dir, fd)


def _read_pid(fd: int) -> int | None:
    """The holder's PID from the lock file (None while it has not written it yet)."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
