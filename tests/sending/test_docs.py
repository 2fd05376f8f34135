"""Every example in the docstrings of the gateways, sending and testing packages runs."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "campaign_sdk._enums",
    "campaign_sdk._exceptions",
    "campaign_sdk.facts.errors",
    "campaign_sdk.facts.numbers",
    "campaign_sdk.facts.statuses",
    "campaign_sdk.gateways",
    "campaign_sdk.gateways._twilio",
    "campaign_sdk.gateways._sandbox",
    "campaign_sdk.sending",
    "campaign_sdk.sending._limiter",
    "campaign_sdk.sending._policy",
    "campaign_sdk.testing",
    "campaign_sdk.testing._server",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("package", ["campaign_sdk.gateways", "campaign_sdk.sending", "campaign_sdk.testing"])
def test_all_is_sorted_and_importable(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__ == sorted(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None
