"""Rebuild the notebooks from the cell sources below and execute them, saving their outputs.

    .venv/bin/python notebooks/_build.py            # all notebooks
    .venv/bin/python notebooks/_build.py 01         # the ones whose name starts with 01

The saved outputs are what nbval compares against in the test suite; cells whose output is
truly variable (durations, throughput) start with ``# NBVAL_IGNORE_OUTPUT``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _cells import NOTEBOOKS  # noqa: E402


def build(name: str, cells: list[tuple[str, str]]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for number, (kind, source) in enumerate(cells):
        source = source.strip("\n")
        cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
        cell.id = f"{name[:2]}-{number:02d}"  # stable ids keep diffs small
        nb.cells.append(cell)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}
        for output in cell.get("outputs", []):
            output.get("metadata", {}).clear() if isinstance(output.get("metadata"), dict) else None
    nb.metadata.pop("widgets", None)
    path = HERE / f"{name}.ipynb"
    nbformat.write(nb, path)
    print(f"wrote {path.relative_to(HERE.parent)} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    wanted = sys.argv[1:]
    for name, cells in NOTEBOOKS.items():
        if not wanted or any(name.startswith(w) for w in wanted):
            build(name, cells)
