"""Notebooks are committed clean: valid nbformat v4, no outputs, no execution counts, and a first
code cell that reads the QUICK switch (``make test`` executes them with ``QUICK=1`` via nbmake)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
QUICK_LINE = 'QUICK = os.environ.get("QUICK", "0") not in ("", "0")'


def test_notebooks_found():
    assert len(NOTEBOOKS) >= 4, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean(path):
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts (clear them)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_reads_quick(path):
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    first = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert QUICK_LINE in first.source, f"{path.name}: the first code cell must set QUICK from env"
