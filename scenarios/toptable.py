"""Parse `kubectl top` tables and compare them with the fleet's ground truth.

kubectl prints CPU as the quantity's milli-value rounded up (`416m`) and memory as whole MiB
rounded down (`1220Mi`), so a printed figure stands for an interval of true values; the
comparison allows for that rounding before applying the scenario's tolerance.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_CELL_SPLIT = re.compile(r"\s{2,}")
_CPU = re.compile(r"^(\d+)m$")
_MEMORY = re.compile(r"^(\d+)Mi$")
_PERCENT = re.compile(r"^(\d+)%$")


class TopTableError(ValueError):
    """The text is not a `kubectl top` table."""


@dataclass(frozen=True)
class TopRow:
    """One row: its identifying cells and its usage, None where kubectl printed `<unknown>`."""

    cells: dict[str, str]
    cpu_millicores: int | None
    memory_mib: int | None

    @property
    def name(self) -> str:
        return self.cells["NAME"]

    @property
    def namespace(self) -> str | None:
        return self.cells.get("NAMESPACE")

    @property
    def pod(self) -> str | None:
        return self.cells.get("POD")

    def percent(self, column: str) -> int | None:
        """`CPU%`/`CPU(%)` and `MEMORY%`/`MEMORY(%)` as integers, whichever spelling was printed."""
        for key in (column, column.replace("%", "(%)")):
            if key in self.cells:
                match = _PERCENT.match(self.cells[key])
                return int(match.group(1)) if match else None
        return None


@dataclass(frozen=True)
class TopTable:
    columns: list[str]
    rows: list[TopRow]

    def row(self, name: str, namespace: str | None = None) -> TopRow:
        for r in self.rows:
            if r.name == name and (namespace is None or r.namespace == namespace):
                return r
        where = f" in namespace {namespace}" if namespace else ""
        raise KeyError(f"no row {name!r}{where} in kubectl top output")


def _cpu(cell: str) -> int | None:
    match = _CPU.match(cell)
    return int(match.group(1)) if match else None


def _memory(cell: str) -> int | None:
    match = _MEMORY.match(cell)
    return int(match.group(1)) if match else None


def parse_top(text: str) -> TopTable:
    """Parse the stdout of `kubectl top node|pod` (with headers; `--containers`, `-A` allowed).

    Cells are separated by kubectl's tabwriter padding (at least two spaces; names never contain
    spaces). `--sum` footers (`____` lines and the unnamed total row) are skipped.
    """
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise TopTableError("empty output: expected a kubectl top table with a header line")
    columns = _CELL_SPLIT.split(lines[0].strip())
    if "NAME" not in columns or "CPU(cores)" not in columns:
        raise TopTableError(
            f"first line is not a kubectl top header (NAME ... CPU(cores) ...): {lines[0]!r}"
        )
    rows: list[TopRow] = []
    for line in lines[1:]:
        if set(line.strip()) <= {"_", " "}:
            continue
        cells = _CELL_SPLIT.split(line.strip())
        if len(cells) != len(columns):
            if len(cells) < len(columns) and all(_cpu(c) or _memory(c) for c in cells):
                continue  # the --sum total row: quantities only
            raise TopTableError(
                f"row has {len(cells)} cells, header has {len(columns)}: {line!r}"
            )
        by_column = dict(zip(columns, cells, strict=True))
        rows.append(
            TopRow(
                cells=by_column,
                cpu_millicores=_cpu(by_column["CPU(cores)"]),
                memory_mib=_memory(by_column["MEMORY(bytes)"]),
            )
        )
    return TopTable(columns=columns, rows=rows)


@dataclass(frozen=True)
class Tolerance:
    """Allowed distance from the truth: absolute plus relative, for CPU and memory each."""

    cpu_millicores: float = 2.0
    cpu_relative: float = 0.02
    memory_mib: float = 1.0
    memory_relative: float = 0.01


def printed_cpu(true_cores: float) -> int:
    """What kubectl prints for a true CPU usage in cores: nanocores truncated, milli rounded up."""
    nanocores = math.floor(true_cores * 1e9)
    return -(-nanocores // 1_000_000)


def printed_memory(true_bytes: float) -> int:
    return int(true_bytes // (1024 * 1024))


def cpu_matches(printed: int, true_cores: float, tol: Tolerance) -> bool:
    """True when a printed `NNNm` is within tolerance of the true mean usage in cores."""
    truth = true_cores * 1000
    allowed = tol.cpu_millicores + tol.cpu_relative * truth
    # Printed = ceil(reported milli); reported = truncated nanocores; so printed - 1 < reported.
    return printed - 1 - allowed - 1e-6 <= truth <= printed + allowed + 1e-6


def memory_matches(printed: int, true_bytes: float, tol: Tolerance) -> bool:
    truth = true_bytes / (1024 * 1024)
    allowed = tol.memory_mib + tol.memory_relative * truth
    return printed - allowed <= truth <= printed + 1 + allowed
