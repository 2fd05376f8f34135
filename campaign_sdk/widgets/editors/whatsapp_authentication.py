"""whatsapp/authentication: security recommendation, code expiry and the copy-code button text
(WhatsApp presets the message text itself)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from campaign_sdk.widgets.editors._base import Editor, NumberEditor


class CheckEditor(Editor):
    def __init__(self, on_change: Callable[[], None]) -> None:
        box = w.Checkbox(value=True, description="Add 'For your security, do not share this code.'", indent=False)
        super().__init__("add_security_recommendation", "Security recommendation", box, on_change)

    def get(self, required: bool) -> Any:
        return bool(self.input.value)

    def set(self, value: Any) -> None:
        self.input.value = True if value is None else bool(value)


class ButtonEditor(Editor):
    """The one copy-code button: its text (``actions[0].copy_code_text``)."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        super().__init__("actions", "Copy-code button text", w.Text(placeholder="Copy code", continuous_update=True),
                         on_change)

    def get(self, required: bool) -> Any:
        return [{"type": "COPY_CODE", "copy_code_text": self.input.value}]

    def set(self, value: Any) -> None:
        self.input.value = str((value or [{}])[0].get("copy_code_text", "")) if value else ""


def expiry(on_change: Callable[[], None]) -> NumberEditor:
    return NumberEditor("code_expiration_minutes", "Code expires after (minutes, 1-90)", "10", on_change, integer=True)


EDITORS = {
    "add_security_recommendation": CheckEditor,
    "code_expiration_minutes": expiry,
    "actions": ButtonEditor,
}
