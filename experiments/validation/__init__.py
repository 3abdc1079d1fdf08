"""The validation suite: published Bitswap measurements, replayed and compared.

Each ``*.toml`` file of this folder is one published measurement: a scenario that reproduces
its setup as closely as the source allows, plus an ``[expected]`` table with the published
figures, the source, what was measured and the tolerance
(:mod:`experiments.validation.expected`). ``bitswap-sim validate-model`` runs them; from
Python::

    from experiments.validation import cases, run_validation

    table = run_validation(["go-pr281-overlap1"])  # or run_validation() for every case
    table[["case", "label", "metric", "published", "simulated", "error_pct", "status"]]

    for case in cases():
        print(case.name, case.expected.source)

``docs/validation.md`` describes every case: what was measured, the setup as reproduced and
what could not be, and the tolerance.
"""

from experiments.validation.cases import Case, case_names, cases, load_case
from experiments.validation.expected import METRICS, Check, Expected
from experiments.validation.figure import validation_figure
from experiments.validation.suite import COLUMNS, format_report, run_validation

__all__ = [
    "COLUMNS",
    "METRICS",
    "Case",
    "Check",
    "Expected",
    "case_names",
    "cases",
    "format_report",
    "load_case",
    "run_validation",
    "validation_figure",
]
