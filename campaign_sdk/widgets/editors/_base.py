"""Editor building blocks shared by the per-type editors: labelled boxes around one input."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as w

from campaign_sdk._exceptions import Issue
from campaign_sdk.widgets._html import counter_html, issues_html


class Editor:
    """A labelled input with a counter and the issues found in its field."""

    def __init__(self, name: str, label: str, widget: w.ValueWidget, on_change: Callable[[], None]) -> None:
        self.name, self._label, self.input = name, label, widget
        self.input.add_class(f"cs-input-{name}")
        self.label, self.counter, self.issues = w.HTML(), w.HTML(), w.HTML()
        self.issues.add_class(f"cs-issues-{name}")
        header = w.HBox([self.label, self.counter], layout=w.Layout(justify_content="space-between"))
        self.box = w.VBox([header, self.input, self.issues], layout=w.Layout(margin="0 0 4px 0"))
        self.box.add_class(f"cs-field-{name}")
        self.input.observe(lambda _change: on_change(), names="value")
        self.set_required(True)

    def set_required(self, required: bool) -> None:
        hint = '<span style="color:#667781;font-weight:400"> (optional)</span>' if not required else ""
        self.label.value = f"<b>{self._label}</b>{hint}"

    def show(self, counter: tuple[int, int] | None, errors: Sequence[Issue], warnings: Sequence[Issue]) -> None:
        self.counter.value = counter_html(*counter) if counter else ""
        self.issues.value = issues_html(errors, warnings)

    def get(self, required: bool) -> Any:
        raise NotImplementedError

    def set(self, value: Any) -> None:
        raise NotImplementedError


def textarea(hint: str, rows: int = 4) -> w.Textarea:
    return w.Textarea(placeholder=hint, rows=rows, continuous_update=True, layout=w.Layout(width="100%"))


class NumberEditor(Editor):
    """A number typed as text (empty: left out); what is not a number goes to the schemas as typed."""

    def __init__(self, name: str, label: str, hint: str, on_change: Callable[[], None], *, integer: bool = False) -> None:
        self.integer = integer
        super().__init__(name, label, w.Text(placeholder=hint, continuous_update=True), on_change)

    def get(self, required: bool) -> Any:
        text = self.input.value.strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if self.integer and number.is_integer() else number

    def set(self, value: Any) -> None:
        self.input.value = "" if value is None else str(value)


class JsonListEditor(Editor):
    """A list of objects edited as JSON (one array); invalid JSON goes to the schemas as text."""

    def get(self, required: bool) -> Any:
        text = self.input.value.strip()
        if not text:
            return [] if required else None
        try:
            return json.loads(text)
        except ValueError:
            return text

    def set(self, value: Any) -> None:
        self.input.value = json.dumps(value, indent=1, ensure_ascii=False) if value else ""
