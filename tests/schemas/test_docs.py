"""Every example in the docstrings of the schemas package and the templates module runs."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "campaign_sdk.schemas._actions",
    "campaign_sdk.schemas._compile",
    "campaign_sdk.schemas._content",
    "campaign_sdk.schemas._lint",
    "campaign_sdk.schemas._validate",
    "campaign_sdk.schemas._variables",
    "campaign_sdk.templates",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, report=True)
    assert result.attempted > 0
    assert result.failed == 0
