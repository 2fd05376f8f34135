"""The studio's widgets and where each problem is shown (next to the field it belongs to)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from campaign_sdk._exceptions import Issue
from campaign_sdk.schemas import CONTENT_TYPES
from campaign_sdk.templates import default_templates
from campaign_sdk.widgets._actions import ActionsEditor
from campaign_sdk.schemas._draft import DraftCheck, fields_of
from campaign_sdk.widgets._fields import LABELS, FieldEditor
from campaign_sdk.widgets.editors import TYPE_EDITORS
from campaign_sdk.widgets._html import (
    ERROR_COLOR,
    WARNING_COLOR,
    issues_html,
    variables_html,
)

if TYPE_CHECKING:
    from campaign_sdk.widgets._studio import TemplateStudio

TYPE_LABELS = {content_type: cls.type_label for content_type, cls in CONTENT_TYPES.items()}


class StudioView:
    """Builds the studio's widgets and routes values and issues between them and the studio."""

    def __init__(self, studio: TemplateStudio) -> None:
        self._quiet = False
        start = [(f"Blank {TYPE_LABELS[t].lower()} ({t})", f"blank:{t}") for t in CONTENT_TYPES]
        start += [(f"{t.title} ({t.content_type})", f"template:{t.key}") for t in default_templates()]
        self.start = w.Dropdown(options=start, description="Start from", layout=w.Layout(width="390px"))
        self.content_type = w.Dropdown(options=[(TYPE_LABELS[t], t) for t in CONTENT_TYPES], value=None,
                                       description="Type", layout=w.Layout(width="260px"))
        self.start.observe(lambda c: None if self._quiet else studio._start(c["new"]), names="value")
        self.content_type.observe(lambda c: studio._retype(c["new"]), names="value")
        self.fields = {name: FieldEditor(name, studio._changed) for name in LABELS}
        self.actions = ActionsEditor(studio._changed)
        # Editors of one content type's own fields (editors/<type>.py), by (type, field); built
        # when the type is first shown, so a studio costs only the widgets it uses.
        self.special: dict[tuple[str, str], Any] = {}
        self._on_change = studio._changed
        self.general, self.status, self.saved = w.HTML(), w.HTML(), w.HTML()
        self.general.add_class("cs-issues-template")
        self.status.add_class("cs-status")
        self.saved.add_class("cs-save-result")
        self.editors = w.VBox(layout=w.Layout(width="56%", padding="0 14px 0 0"))
        self.sample = w.Dropdown(description="Sample lead", style={"description_width": "initial"},
                                 layout=w.Layout(width="330px"))
        self.sample.observe(lambda _c: studio._changed(), names="value")
        self.preview, self.variables = w.HTML(), w.HTML()
        # Example values for WhatsApp's review: the author's, never a lead's (one "name = value" a line).
        self.approval_samples = w.Textarea(placeholder="lead_name = Ana\norder_id = A-1042", rows=3,
                                           continuous_update=True, layout=w.Layout(width="100%"))
        self.approval_samples.add_class("cs-approval-samples")
        self.approval_samples.observe(lambda _c: studio._changed(), names="value")
        self.approval_issues = w.HTML()
        self.approval_issues.add_class("cs-issues-approval-samples")
        self.preview.add_class("cs-preview")
        self.variables.add_class("cs-variables-box")
        self.name = w.Text(placeholder="campaign name", description="Campaign", layout=w.Layout(width="330px"))
        self.kind = w.Dropdown(options=["marketing", "service"], layout=w.Layout(width="120px"))
        save = w.Button(description="Save", icon="save", button_style="primary", layout=w.Layout(width="100px"))
        save.add_class("cs-save")
        for widget, name in ((self.start, "start"), (self.content_type, "content-type"), (self.sample, "sample"),
                             (self.name, "campaign-name"), (self.kind, "campaign-type")):
            widget.add_class(f"cs-{name}")
        save.on_click(lambda _b: studio._save_clicked())
        self._save_row = w.HBox([self.name, self.kind, save])

    def children(self) -> list[w.Widget]:
        title = w.HTML("<h3 style='margin:4px 0'>Template Studio</h3>")
        header = w.HBox([title, self.status], layout=w.Layout(justify_content="space-between",
                                                              align_items="center"))
        right = w.VBox(
            [self.sample, self.preview, w.HTML("<b>Variables</b>"), self.variables,
             w.HTML("<b>Approval samples</b> (sent to WhatsApp; never a customer's data)"),
             self.approval_samples, self.approval_issues],
            layout=w.Layout(width="44%"),
        )
        body = w.HBox([self.editors, right], layout=w.Layout(align_items="flex-start"))
        return [header, w.HBox([self.start, self.content_type]), body, self._save_row, self.saved]

    @contextmanager
    def quiet(self) -> Iterator[None]:
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def set_start(self, choice: str) -> None:
        with self.quiet():
            self.start.value = choice

    def set_samples(self, samples: Sequence[Mapping[str, Any]]) -> None:
        if not samples:
            self.sample.options = [("none: variables shown as {{name}}", -1)]
        else:
            self.sample.options = [(_sample_label(i, s), i) for i, s in enumerate(samples)]
        self.sample.value = self.sample.options[0][1]

    def editor(self, content_type: str, name: str) -> Any:
        """The editor of field ``name`` for ``content_type`` (its own, else the shared one)."""
        make = TYPE_EDITORS.get(content_type, {}).get(name)
        if make is not None:
            if (content_type, name) not in self.special:
                self.special[(content_type, name)] = make(self._on_change)
            return self.special[(content_type, name)]
        return self.actions if name == "actions" else self.fields[name]

    def show_fields(self, content_type: str, shown: Mapping[str, bool]) -> None:
        boxes = [self.editor(content_type, n).box for n in shown]
        self.editors.children = [self.general, *boxes]

    def show(self, check: DraftCheck, preview: str) -> None:
        placed: set[int] = set()
        kind = check.content_type
        # Only the fields this type shows take their issues; the rest go to the general box.
        for name in fields_of(kind):
            editor = self.editor(kind, name)
            errors, warnings = _take(check.errors, name, placed), _take(check.warnings, name, placed)
            if editor is self.actions:
                editor.show(check.counters, errors, warnings)
            else:
                editor.show(check.counters.get(name), errors, warnings)
        samples = _take(check.errors, "samples", placed), _take(check.warnings, "samples", placed)
        rest = [i for i in check.errors if id(i) not in placed], [i for i in check.warnings if id(i) not in placed]
        self.general.value = issues_html(*rest)
        self.status.value = _status(check)
        self.preview.value = preview
        self.variables.value = issues_html(*samples) + variables_html(check.variables)


def _take(issues: Sequence[Issue], name: str, placed: set[int]) -> list[Issue]:
    """The issues about field ``name`` (``name``, ``name[i]...`` or ``name.x``), marked as placed."""
    mine = [i for i in issues if i.field == name or i.field.startswith((f"{name}[", f"{name}."))]
    placed.update(id(i) for i in mine)
    return mine


def _sample_label(index: int, sample: Mapping[str, Any]) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in list(sample.items())[:2])
    return f"{index + 1}: {shown[:40] or '(no values)'}"


def _status(check: DraftCheck) -> str:
    if check.errors:
        color, text = ERROR_COLOR, f"✖ {len(check.errors)} problem(s): fix them to save"
    elif check.warnings:
        color, text = WARNING_COLOR, f"⚠ valid for Twilio; {len(check.warnings)} WhatsApp warning(s)"
    else:
        color, text = "#1b7f3b", "✔ valid, and WhatsApp's lint finds nothing"
    return (
        f'<span style="color:{color};border:1px solid {color};border-radius:12px;padding:2px 10px;'
        f'font-size:12.5px">{text}</span>'
    )
