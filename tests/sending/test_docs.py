"""The gateways, sending and testing packages export sorted, importable names (their docstring
examples run as doctests: see DOCUMENTED in the root conftest.py)."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("package", ["campaign_sdk.gateways", "campaign_sdk.sending", "campaign_sdk.testing"])
def test_all_is_sorted_and_importable(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ == sorted(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None
