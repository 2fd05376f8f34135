"""The package ships its type information (PEP 561) and its migrations."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_py_typed_is_shipped() -> None:
    assert resources.files("campaign_sdk").joinpath("py.typed").is_file()
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["campaign_sdk"]
    assert "py.typed" in data and "migrations/versions/*.py" in data
