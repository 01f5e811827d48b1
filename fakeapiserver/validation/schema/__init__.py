"""Per-group Go type tables (data); importing this package registers every table and root."""

from __future__ import annotations

from . import apps, autoscaling, core, meta, other

__all__ = ["apps", "autoscaling", "core", "meta", "other"]
