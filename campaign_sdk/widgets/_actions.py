"""The buttons editor: add, remove and reorder actions of the types a content type allows."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as w

from campaign_sdk._exceptions import Issue
from campaign_sdk.schemas import (
    CopyCodeAction,
    PhoneAction,
    QuickReplyAction,
    UrlAction,
    VoiceCallAction,
    VoiceCallRequestAction,
)
from campaign_sdk.widgets._html import counter_html, issues_html

ACTION_MODELS = {
    cls.model_fields["type"].default: cls
    for cls in (QuickReplyAction, UrlAction, PhoneAction, CopyCodeAction, VoiceCallAction, VoiceCallRequestAction)
}
TYPE_LABELS = {
    "QUICK_REPLY": "Quick reply", "URL": "Open URL", "PHONE_NUMBER": "Call number",
    "COPY_CODE": "Copy code", "VOICE_CALL": "WhatsApp call", "VOICE_CALL_REQUEST": "Ask to call",
}
_HINTS = {"id": "reply id, e.g. confirm", "url": "https://example.com/track/{{order_id}}",
          "phone": "+14155550100", "code": "{{promo_code}}"}
_ROW = re.compile(r"actions\[(\d+)\]")


class ActionRow:
    """One button: its type, title and the type's other field, with counters and issues."""

    def __init__(self, editor: ActionsEditor, action: Mapping[str, Any]) -> None:
        self.editor = editor
        self.kind = w.Dropdown(layout=w.Layout(width="120px"))
        self.title = w.Text(placeholder="button title", continuous_update=True, layout=w.Layout(width="140px"))
        self.title_counter, self.detail_counter, self.issues = w.HTML(), w.HTML(), w.HTML()
        for widget, name in ((self.kind, "type"), (self.title, "title"), (self.issues, "issues")):
            widget.add_class(f"cs-action-{name}")
        self.detail: w.ValueWidget | None = None
        self.detail_name: str | None = None
        self._setting = False
        self.fields = w.HBox(layout=w.Layout(align_items="center", flex_flow="row wrap"))
        moves = [self._button(icon, tip, act) for icon, tip, act in (
            ("up", "Move up", lambda: editor.move(self, -1)),
            ("down", "Move down", lambda: editor.move(self, 1)),
            ("remove", "Remove this button", lambda: editor.remove(self)),
        )]
        self.box = w.VBox([w.HBox([self.fields, *moves], layout=w.Layout(align_items="center")), self.issues])
        self.box.add_class("cs-action")
        self.set(action)
        self.kind.observe(self._retype, names="value")
        self.title.observe(lambda _c: editor.changed(), names="value")

    def _button(self, name: str, tooltip: str, action: Callable[[], None]) -> w.Button:
        icon = {"up": "arrow-up", "down": "arrow-down", "remove": "trash"}[name]
        button = w.Button(icon=icon, tooltip=tooltip, layout=w.Layout(width="32px"))
        button.add_class(f"cs-action-{name}")
        button.on_click(lambda _b: action())
        return button

    def set(self, action: Mapping[str, Any]) -> None:
        kind = str(action.get("type") or self.editor.allowed[0])
        self._setting = True  # a type set from code keeps the given fields
        try:
            self.kind.options = [(TYPE_LABELS.get(t, t), t) for t in dict.fromkeys([*self.editor.allowed, kind])]
            self.kind.value = kind
        finally:
            self._setting = False
        self.title.value = str(action.get("title") or "")
        self._build(kind, action)

    def _retype(self, change: Any) -> None:
        if self._setting:
            return
        if change["new"] == "COPY_CODE" and not self.title.value:
            self.title.value = "Copy Code"
        self._build(change["new"], {})
        self.editor.changed()

    def _build(self, kind: str, action: Mapping[str, Any]) -> None:
        model = ACTION_MODELS.get(kind)
        names = [n for n in (model.model_fields if model else ()) if n not in ("type", "title")]
        self.detail_name = names[0] if names else None
        self.detail = None
        if self.detail_name:
            self.detail = w.Text(value=str(action.get(self.detail_name) or ""), continuous_update=True,
                                 placeholder=_HINTS.get(self.detail_name, self.detail_name),
                                 layout=w.Layout(width="170px"))
        if self.detail is not None:
            self.detail.add_class("cs-action-detail")
            self.detail.observe(lambda _c: self.editor.changed(), names="value")
        parts = [self.kind, self.title, self.title_counter, self.detail, self.detail_counter]
        self.fields.children = [part for part in parts if part is not None]

    def value(self) -> dict[str, Any]:
        action: dict[str, Any] = {"type": self.kind.value, "title": self.title.value}
        if self.detail_name and self.detail is not None:
            action[self.detail_name] = self.detail.value
        return action

    def show(self, counters: Mapping[str, tuple[int, int]], prefix: str, errors: Sequence[Issue],
             warnings: Sequence[Issue]) -> None:
        title, detail = counters.get(f"{prefix}.title"), counters.get(f"{prefix}.{self.detail_name}")
        self.title_counter.value = counter_html(*title) if title else ""
        self.detail_counter.value = counter_html(*detail) if detail else ""
        self.issues.value = issues_html(errors, warnings)


class ActionsEditor:
    """The ``actions`` list: one :class:`ActionRow` per button, plus an "Add button" control."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self._on_change = on_change
        self.allowed: tuple[str, ...] = ("QUICK_REPLY",)
        self.rows: list[ActionRow] = []
        self.new_kind = w.Dropdown(layout=w.Layout(width="150px"))
        self.new_kind.add_class("cs-new-action-type")
        add = w.Button(description="Add button", icon="plus", layout=w.Layout(width="120px"))
        add.add_class("cs-add-action")
        add.on_click(lambda _b: self.add({"type": self.new_kind.value}))
        self.list = w.VBox()
        self.issues = w.HTML()
        self.issues.add_class("cs-issues-actions")
        self.label = w.HTML()
        self.box = w.VBox([self.label, self.list, w.HBox([self.new_kind, add]), self.issues])
        self.box.add_class("cs-field-actions")

    def changed(self) -> None:
        self._on_change()

    def set_allowed(self, allowed: Sequence[str], required: bool) -> None:
        self.allowed = tuple(allowed)
        self.new_kind.options = [(TYPE_LABELS.get(t, t), t) for t in self.allowed]
        self.new_kind.value = self.allowed[0]
        kinds = ", ".join(TYPE_LABELS.get(t, t) for t in self.allowed)
        hint = "" if required else " (optional)"
        self.label.value = f'<b>Buttons</b><span style="color:#667781">{hint}: {kinds}</span>'
        for row in self.rows:
            row.set(row.value())

    def get(self, required: bool) -> list[dict[str, Any]] | None:
        actions = [row.value() for row in self.rows]
        return actions if actions or required else None

    def set(self, actions: Sequence[Mapping[str, Any]] | None) -> None:
        self.rows = [ActionRow(self, action) for action in actions or ()]
        self.list.children = [row.box for row in self.rows]

    def add(self, action: Mapping[str, Any]) -> None:
        if action.get("type") == "COPY_CODE":
            action = {"title": "Copy Code", **action}
        self.rows.append(ActionRow(self, action))
        self.list.children = [row.box for row in self.rows]
        self.changed()

    def remove(self, row: ActionRow) -> None:
        self.rows.remove(row)
        self.list.children = [r.box for r in self.rows]
        self.changed()

    def move(self, row: ActionRow, step: int) -> None:
        index = self.rows.index(row)
        target = min(max(index + step, 0), len(self.rows) - 1)
        self.rows.insert(target, self.rows.pop(index))
        self.list.children = [r.box for r in self.rows]
        self.changed()

    def show(self, counters: Mapping[str, tuple[int, int]], errors: Sequence[Issue],
             warnings: Sequence[Issue]) -> None:
        for index, row in enumerate(self.rows):
            mine = [i for i in errors if _row(i) == index], [i for i in warnings if _row(i) == index]
            row.show(counters, f"actions[{index}]", *mine)
        self.issues.value = issues_html([i for i in errors if _row(i) is None],
                                        [i for i in warnings if _row(i) is None])


def _row(issue: Issue) -> int | None:
    match = _ROW.match(issue.field)
    return int(match.group(1)) if match else None
