"""Per-field limits as data, read from the models' own rules so there is one source of truth.

Editors and counters use these; validation itself stays in the models (``field_rules``).

>>> FIELD_LIMITS["twilio/text"]["body"]
1600
>>> ACTION_FIELD_LIMITS["QUICK_REPLY"]
{'title': 20, 'id': 128}
>>> ACTION_TYPES["twilio/quick-reply"]
('QUICK_REPLY',)
"""

from __future__ import annotations

from collections.abc import Mapping

from campaign_sdk.schemas._actions import ACTION_CLASSES
from campaign_sdk.schemas._content import CONTENT_TYPES
from campaign_sdk.schemas._rules import FieldRule, Text


def _max_lengths(rules: Mapping[str, FieldRule]) -> dict[str, int]:
    return {name: rule.max_length for name, rule in rules.items() if isinstance(rule, Text)}


FIELD_LIMITS: dict[str, dict[str, int]] = {
    content_type: _max_lengths(cls.field_rules) for content_type, cls in CONTENT_TYPES.items()
}
"""content type -> text field -> the most characters Twilio allows in it (before variables are filled)."""

ACTION_FIELD_LIMITS: dict[str, dict[str, int]] = {
    action_type: _max_lengths(cls.field_rules) for action_type, cls in ACTION_CLASSES.items()
}
"""action (button) type -> text field -> the most characters Twilio allows in it."""

ACTION_TYPES: dict[str, tuple[str, ...]] = {
    content_type: cls.action_rule.allowed if cls.action_rule else ()
    for content_type, cls in CONTENT_TYPES.items()
}
"""content type -> the button types it may hold, in Twilio's order (empty: no buttons)."""
