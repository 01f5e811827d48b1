"""Replay: a node that serves a recorded sequence of ``/metrics/resource`` bodies, one per request.

Layout (docs/fakekubelet-spec.md): ``<dir>/<node>/0001.prom``, ``0002.prom``, ... — files
ending in ``.prom``, served in lexical order of their names (zero-pad the numbers), bytes as
stored. If ``<dir>/<node>`` does not exist but ``<dir>`` itself holds ``.prom`` files, those are
used (a recording of one node). After the last file the last one is served again for every
further request (a kubelet whose stats stopped changing); an empty file named ``LOOP`` in the
node's directory makes the sequence start over instead.
"""

from __future__ import annotations

from pathlib import Path


class ReplaySource:
    """The recorded bodies of one node and a cursor over them."""

    def __init__(self, files: list[Path], loop: bool = False) -> None:
        if not files:
            raise ValueError("replay: no .prom files")
        self.files = files
        self.loop = loop
        self.position = 0
        self._cache: dict[Path, bytes] = {}

    @classmethod
    def for_node(cls, directory: str | Path, node_name: str) -> ReplaySource:
        base = Path(directory)
        node_dir = base / node_name
        where = node_dir if node_dir.is_dir() else base
        files = sorted(p for p in where.glob("*.prom") if p.is_file())
        if not files:
            raise ValueError(f"replay: no .prom files in {node_dir} or {base}")
        return cls(files, loop=(where / "LOOP").exists())

    def _read(self, path: Path) -> bytes:
        data = self._cache.get(path)
        if data is None:
            data = self._cache[path] = path.read_bytes()
        return data

    def next(self) -> bytes:
        """The body for the next request."""
        if self.position >= len(self.files):
            self.position = 0 if self.loop else len(self.files) - 1
        data = self._read(self.files[self.position])
        self.position += 1
        return data

    @property
    def served(self) -> int:
        return self.position


def record(directory: str | Path, node_name: str, bodies: list[bytes]) -> list[Path]:
    """Write bodies as a replay recording (``0001.prom``, ...); returns the paths."""
    node_dir = Path(directory) / node_name
    node_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, body in enumerate(bodies, start=1):
        p = node_dir / f"{i:04d}.prom"
        p.write_bytes(body)
        paths.append(p)
    return paths
