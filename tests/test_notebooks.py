"""The notebooks run top to bottom without error, and their figures show."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from tests.helpers import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _images(notebook) -> list[int]:
    """Per code cell, how many figures its outputs show."""
    return [
        sum("image/png" in output.get("data", {}) for output in cell.get("outputs", []))
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    monkeypatch.setenv("HALLSIM_NOTEBOOK_REPS", "2")  # the kernel inherits it: a quick run
    notebook = nbformat.read(path, as_version=4)
    committed = _images(notebook)  # the figures a reader of the repository sees
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    # every figure the committed notebook shows is drawn again, in the same cell (hallsim
    # never sets the backend, so figures show inline); a notebook is a walk-through, so
    # it shows some
    assert sum(committed) >= 2, "committed without its figures: run it and save"
    assert _images(notebook) == committed
    markdown = [cell for cell in notebook.cells if cell.cell_type == "markdown"]
    assert len(markdown) >= 4  # prose between the steps, not a bare script
