"""Changing a Deployment's container args the way a user edits components.yaml.

`add` appends flags, `remove` drops every occurrence of a flag (by name, whatever its value),
`set` replaces a flag's value or appends it when absent. Flags are matched by name, so
`--v=6` replaces `--v=4` and `-v` is the same flag as `--v`.
"""

from __future__ import annotations

from typing import Any

_SHORT = {"-v": "--v", "-l": "--node-selector"}


def flag_name(arg: str) -> str:
    name = arg.split("=", 1)[0]
    return _SHORT.get(name, name)


def apply_changes(args: list[str], change: dict[str, Any] | None) -> list[str]:
    """Return ``args`` with one `{add, remove, set}` change applied."""
    if not change:
        return list(args)
    out = list(args)
    removed = {flag_name(f) for f in change.get("remove") or []}
    out = [a for a in out if flag_name(a) not in removed]
    for flag, value in (change.get("set") or {}).items():
        name = flag_name(flag)
        new = f"{name}={value}"
        positions = [i for i, a in enumerate(out) if flag_name(a) == name]
        if positions:
            out[positions[0]] = new
            out = [a for i, a in enumerate(out) if i not in positions[1:]]
        else:
            out.append(new)
    for arg in change.get("add") or []:
        name = flag_name(arg)
        if "=" in arg:
            out = [a for a in out if flag_name(a) != name]
        elif arg in out:
            continue
        out.append(arg)
    return out
