"""docs/metricsd-flags.md lists every flag."""

from pathlib import Path

from metricsd.options import build_flagset

DOC = Path(__file__).resolve().parents[3] / "docs" / "metricsd-flags.md"


def test_every_flag_documented() -> None:
    text = DOC.read_text()
    missing = [f.name for f in build_flagset().flags if f"`--{f.name}`" not in text]
    assert missing == []
