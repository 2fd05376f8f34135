"""Twilio's error codes and status lists have one home, ``campaign_sdk.facts``: no other code spells them."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

from campaign_sdk.analytics._definitions import COUNTS
from campaign_sdk.facts import errors, statuses

PACKAGE = Path(__file__).resolve().parent.parent / "campaign_sdk"
# Migrations are frozen history: they keep the values of their day.
EXEMPT = (PACKAGE / "facts", PACKAGE / "migrations")


def _sources() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if not any(p.is_relative_to(e) for e in EXEMPT)]


def test_no_code_outside_facts_spells_a_twilio_error_code() -> None:
    codes = set(errors.ERRORS)
    found = []
    for path in _sources():
        for token in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
            if token.type == tokenize.NUMBER and token.string.isdigit() and int(token.string) in codes:
                found.append(f"{path.relative_to(PACKAGE)}:{token.start[0]}: {token.string}")
    assert found == [], "read Twilio's codes from campaign_sdk.facts.errors:\n" + "\n".join(found)


def test_no_code_outside_facts_lists_message_statuses() -> None:
    names = set(statuses.NAMES)
    found = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and len(node.elts) >= 2:
                values = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
                # ("read", "delivered") may also be metric column names (read_rate = read / delivered)
                if len(values) == len(node.elts) and set(values) <= names and not set(values) <= set(COUNTS):
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {values}")
    assert found == [], "read status lists from campaign_sdk.facts.statuses:\n" + "\n".join(found)
