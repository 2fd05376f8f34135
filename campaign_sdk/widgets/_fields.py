"""One editor per template field: an input, its character counter and the issues found in it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w

from campaign_sdk._exceptions import Issue
from campaign_sdk.widgets._html import counter_html, issues_html

LABELS = {
    "header_text": "Header text", "title": "Title", "body": "Body", "subtitle": "Subtitle (footer)",
    "footer": "Footer", "media": "Media URLs", "button": "List button", "label": "Label", "address": "Address",
    "id": "Catalog id", "dynamic_items": "Dynamic items",
}
HINTS = {
    "header_text": "A short text header (no media then), at most 60 characters",
    "title": "Card title: the text WhatsApp reviews as the message body when there is no body",
    "body": "Write the message; {{lead_name}} inserts each lead's value",
    "subtitle": "Footer text, no variables (e.g. Reply STOP to opt out)",
    "footer": "Footer text, no variables (e.g. Reply STOP to opt out)",
    "media": "One URL per line, e.g. https://example.com/images/{{sku}}.png",
    "button": "The button that opens the list, e.g. Choose",
    "label": "Shown next to the pin, e.g. Time to board @ SFO",
    "address": "Street address of the pin",
    "id": "The Meta catalog's id (Commerce Manager)",
    "dynamic_items": "Products chosen at send time, e.g. {{1}}",
}


class FieldEditor:
    """An editor for one text field (``media``: one URL per line) of a content context."""

    def __init__(self, name: str, on_change: Callable[[], None]) -> None:
        self.name = name
        multiline = name in ("body", "media", "title")
        options: dict[str, Any] = {"placeholder": HINTS[name], "continuous_update": True,
                                   "layout": w.Layout(width="100%")}
        if multiline:
            self.input: w.Text | w.Textarea = w.Textarea(rows={"body": 5, "media": 2, "title": 2}[name], **options)
        else:
            self.input = w.Text(**options)
        self.input.add_class(f"cs-input-{name}")
        self.label = w.HTML()
        self.counter = w.HTML()
        self.counter.add_class(f"cs-counter-{name}")
        self.issues = w.HTML()
        self.issues.add_class(f"cs-issues-{name}")
        header = w.HBox([self.label, self.counter],
                        layout=w.Layout(justify_content="space-between", align_items="baseline"))
        self.box = w.VBox([header, self.input, self.issues], layout=w.Layout(margin="0 0 4px 0"))
        self.box.add_class(f"cs-field-{name}")
        self.input.observe(lambda _change: on_change(), names="value")

    def set_required(self, required: bool) -> None:
        hint = '<span style="color:#667781;font-weight:400"> (optional)</span>' if not required else ""
        self.label.value = f"<b>{LABELS[self.name]}</b>{hint}"

    def get(self, required: bool) -> Any:
        """The field's value for the context, or None to leave an empty optional field out."""
        text = self.input.value
        if self.name == "media":
            urls = [line.strip() for line in text.splitlines() if line.strip()]
            return urls if urls or required else None
        return text if text or required else None

    def set(self, value: Any) -> None:
        if self.name == "media":
            value = "\n".join(value or [])
        self.input.value = value or ""

    def show(self, counter: tuple[int, int] | None, errors: Sequence[Issue], warnings: Sequence[Issue]) -> None:
        self.counter.value = counter_html(*counter) if counter else ""
        self.issues.value = issues_html(errors, warnings)
