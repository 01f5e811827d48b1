"""HPA experiments: one Deployment under load, HPA variants compared on accelerated time.

``python -m scenarios experiment FILE --out DIR`` (docs/experiments.md). The file format is
:mod:`.schema`; a variant runs in a cluster of its own (``scenarios.simtime.SimCluster``) by
:mod:`.run`; what it leaves is a time series (:mod:`.series`), its summary (:mod:`.summary`,
pure maths), bounds on the summary (:mod:`.bounds`), PNG charts (:mod:`.charts`, optional
matplotlib) and a self-contained HTML report (:mod:`.htmlreport`).
"""
