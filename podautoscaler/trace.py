"""The trace: every intermediate value of one reconcile, as a stable JSON structure.

``result["trace"]`` is plain JSON (non-finite floats appear as the strings ``"+Inf"``,
``"-Inf"`` and ``"NaN"``, as Go prints them) and carries ``version``; fields are only ever
added within a version. Its layout is documented in ``docs/podautoscaler.md`` ("The trace");
:mod:`podautoscaler.explain` renders it as text.
"""

from __future__ import annotations

TRACE_VERSION = 1

__all__ = ["TRACE_VERSION"]
