"""``TemplateStudio``: draft, check and preview a content template, then save it into a campaign."""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import ipywidgets as w

from campaign_sdk import Campaign, CampaignClient
from campaign_sdk._exceptions import CampaignError, Issue, TemplateValidationError
from campaign_sdk.schemas import ACTION_TYPES, ContentContext, lint_whatsapp, preview_text
from campaign_sdk.templates import get_default_template
from campaign_sdk.widgets._bubble import bubble_html, placeholder_html
from campaign_sdk.schemas._draft import (
    DraftCheck,
    Variable,
    check_draft,
    fields_of,
)
from campaign_sdk.widgets._html import issues_html
from campaign_sdk.widgets._save import campaign_samples, save_content
from campaign_sdk.widgets._view import StudioView
from campaign_sdk.widgets.editors import TYPE_EDITORS

STALE_NOTE = "Showing the last valid version: fix the problems on the left to update the preview."


class TemplateStudio(w.VBox):
    """Draft a Twilio content template with live checks, counters and a WhatsApp-style preview.

    Every keystroke is validated by :mod:`campaign_sdk.schemas` (Twilio's limits, then the WhatsApp
    approval lint); problems are shown next to the field that breaks them. The state is readable
    and settable from code, so a studio can be scripted and tested::

        studio = TemplateStudio(template="order_confirmation", client=client)
        studio.value = {"body": "Hi {{lead_name}}, your order {{order_id}} has shipped."}
        studio.errors, studio.warnings, studio.counters   # what the schemas say
        campaign = studio.save(name="Shipping")             # refused while studio.errors

    ``content_type`` + ``value`` (a raw context dict) or ``template`` (a default template key) set
    the start; ``samples`` are leads' values for the preview; ``client`` or ``campaign`` is where
    the Save button saves.
    """

    def __init__(
        self,
        content_type: str = "twilio/text",
        value: Mapping[str, Any] | ContentContext | None = None,
        *,
        template: str | None = None,
        samples: Sequence[Mapping[str, Any]] = (),
        client: CampaignClient | None = None,
        campaign: Campaign | None = None,
        lead_columns: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        self.add_class("cs-template-studio")
        self.campaign = campaign
        self._client = client
        self._base_samples = [dict(s) for s in samples]
        self._lead_columns = list(lead_columns) if lead_columns is not None else None
        self._template_key: str | None = None
        self._extra: dict[str, Any] = {}
        self._last_valid: ContentContext | None = None
        self._hold = 0
        self._samples: list[dict[str, Any]] = []
        self._ui = StudioView(self)
        self.children = self._ui.children()
        if template is not None:
            self.load_template(template)
        else:
            self._ui.set_start(f"blank:{content_type}")
            with self._batch():
                self.content_type = content_type
                self.value = value or {}
                self.samples = self._base_samples

    @classmethod
    def from_campaign(cls, campaign: Campaign, *, sample_limit: int = 20) -> TemplateStudio:
        """A studio on ``campaign``'s template; its leads are the samples and Save updates it."""
        samples, columns = campaign_samples(campaign, limit=sample_limit)
        content = campaign.content
        studio = cls(content.content_type, content, samples=samples, campaign=campaign, lead_columns=columns)
        studio._ui.name.value = campaign.name
        return studio

    # -- state ----------------------------------------------------------------------------
    @property
    def content_type(self) -> str:
        """The content type being edited; setting it keeps the fields both types have."""
        return str(self._ui.content_type.value)

    @content_type.setter
    def content_type(self, content_type: str) -> None:
        self._ui.content_type.value = content_type  # unknown types are refused by the dropdown

    @property
    def value(self) -> dict[str, Any]:
        """The context as edited (a dict as Twilio takes it; empty optional fields left out)."""
        value = dict(self._extra)
        for name, required in fields_of(self.content_type).items():
            if (item := self._ui.editor(self.content_type, name).get(required)) is not None:
                value[name] = item
        return value

    @value.setter
    def value(self, value: Mapping[str, Any] | ContentContext) -> None:
        if isinstance(value, ContentContext):
            self.content_type, value = value.content_type, value.to_twilio()
        with self._batch():
            # Keys this type has no editor for stay in the value, so the schemas report them.
            self._extra = {k: v for k, v in value.items() if k not in fields_of(self.content_type)}
            for name, editor in self._ui.fields.items():
                editor.set(value.get(name))
            special = set(TYPE_EDITORS.get(self.content_type, {}))
            if "actions" not in special:
                self._ui.actions.set(value.get("actions"))
            for name in special:
                self._ui.editor(self.content_type, name).set(value.get(name))

    @property
    def check(self) -> DraftCheck:
        """Everything the schemas say about the current draft."""
        return self._check

    @property
    def context(self) -> ContentContext | None:
        """The validated content model, or None while there are errors; setting a model loads it."""
        return self._check.context

    @context.setter
    def context(self, context: ContentContext) -> None:
        self.value = context

    @property
    def errors(self) -> list[Issue]:
        """Problems Twilio would refuse (saving is refused while there are any)."""
        return list(self._check.errors)

    @property
    def warnings(self) -> list[Issue]:
        """What WhatsApp's approval, or a send with the chosen sample, would reject."""
        return list(self._check.warnings)

    @property
    def counters(self) -> dict[str, tuple[int, int]]:
        """``field path -> (characters, limit)`` for every limited text field."""
        return dict(self._check.counters)

    @property
    def variables(self) -> list[Variable]:
        """The variables found, where each is used and where each lead's value comes from."""
        return list(self._check.variables)

    @property
    def samples(self) -> list[dict[str, Any]]:
        """Sample leads' values (variable name -> value) to preview with."""
        return [dict(s) for s in self._samples]

    @samples.setter
    def samples(self, samples: Sequence[Mapping[str, Any]]) -> None:
        self._samples = [dict(s) for s in samples]
        self._ui.set_samples(self._samples)

    @property
    def sample(self) -> dict[str, Any]:
        """The values of the sample lead chosen for the preview (empty when there is none)."""
        index = self._ui.sample.value
        return dict(self._samples[index]) if index is not None and index >= 0 else {}

    @property
    def sample_index(self) -> int | None:
        """Which of :attr:`samples` the preview uses."""
        return self._ui.sample.value if self._samples else None

    @sample_index.setter
    def sample_index(self, index: int) -> None:
        self._ui.sample.value = index

    @property
    def approval_samples(self) -> dict[str, str]:
        """Example values for the approval request, by variable name (the "Approval samples" box);
        saved with the campaign. Default templates bring theirs."""
        pairs = (line.partition("=") for line in self._ui.approval_samples.value.splitlines() if "=" in line)
        return {key.strip(): value.strip() for key, _, value in pairs if key.strip()}

    @approval_samples.setter
    def approval_samples(self, samples: Mapping[str, Any]) -> None:
        self._ui.approval_samples.value = "\n".join(f"{key} = {value}" for key, value in samples.items())

    @property
    def preview_text(self) -> str | None:
        """The message as plain text with the sample's values (None while there are errors)."""
        context = self._check.context
        return None if context is None else preview_text(context, self.sample, missing="mark")

    @property
    def preview_html(self) -> str:
        """The WhatsApp-style preview shown in the studio."""
        return str(self._ui.preview.value)

    # -- actions --------------------------------------------------------------------------
    def load_template(self, key: str) -> None:
        """Start from the default template ``key`` (its context and its sample values)."""
        template = get_default_template(key)
        with self._batch():
            self._ui.set_start(f"template:{key}")
            self.content_type = template.content_type
            self.value = template.context
            self.samples = [dict(template.samples), *self._base_samples]
            self.approval_samples = template.samples
            self._template_key = key

    def save(
        self,
        target: CampaignClient | Campaign | None = None,
        *,
        name: str | None = None,
        campaign_type: str | None = None,
    ) -> Campaign:
        """Save the template: update ``target`` (a Campaign, e.g. an unsubmitted one) or create a
        campaign called ``name`` on ``target`` (a CampaignClient). Without ``target``, the studio's
        campaign or client is used. Refused with :class:`TemplateValidationError` while invalid."""
        target = target if target is not None else (self.campaign or self._client)
        if target is None:
            raise TypeError("nowhere to save: call studio.save(client, name=...) or studio.save(campaign)")
        unchanged = self._template_key and self.context == get_default_template(self._template_key).context
        self.campaign = save_content(
            target, self.context, self.errors, content_type=self.content_type,
            name=name or self._ui.name.value.strip() or None,
            campaign_type=campaign_type or (self._ui.kind.value if isinstance(target, CampaignClient) else None),
            template=self._template_key if unchanged else None,
            approval_samples=self.approval_samples,
        )
        return self.campaign

    # -- wiring ---------------------------------------------------------------------------
    @contextmanager
    def _batch(self) -> Iterator[None]:
        self._hold += 1
        try:
            yield
        finally:
            self._hold -= 1
            if not self._hold:
                self._refresh()

    def _changed(self) -> None:
        if not self._hold:
            self._refresh()

    def _start(self, choice: str) -> None:
        kind, _, key = choice.partition(":")
        if kind == "template":
            self.load_template(key)
        else:
            with self._batch():
                self._template_key = None
                self.content_type = key
                self.value = {}
                self.samples = self._base_samples

    def _retype(self, content_type: str) -> None:
        with self._batch():
            shown = fields_of(content_type)
            self._extra = {k: v for k, v in self._extra.items() if k not in shown}
            for name, required in shown.items():
                editor = self._ui.editor(content_type, name)
                if editor is not self._ui.actions:
                    editor.set_required(required)
            if ACTION_TYPES[content_type]:
                self._ui.actions.set_allowed(ACTION_TYPES[content_type], shown["actions"])
            self._ui.show_fields(content_type, shown)

    def _refresh(self) -> None:
        self._check = check_draft(self.content_type, self.value, sample=self.sample,
                                  lead_columns=self._lead_columns)
        if self._check.context is not None:
            self._last_valid = self._check.context
        self._ui.show(self._check, self._preview())
        self._ui.approval_issues.value = issues_html(self.approval_issues, [])

    @property
    def approval_issues(self) -> list[Issue]:
        """What WhatsApp's rules say about :attr:`approval_samples` (a missing or malformed one)."""
        context = self._check.context
        if context is None:
            return []
        issues = lint_whatsapp(context, samples=self.approval_samples)
        return [issue for issue in issues if issue.field.startswith("samples.")]

    def _preview(self) -> str:
        if self._check.context is not None:
            return bubble_html(self._check.context, self.sample)
        if self._last_valid is not None:
            return bubble_html(self._last_valid, self.sample, note=STALE_NOTE, stale=True)
        return placeholder_html("Nothing to preview yet: fix the problems on the left.")

    def _save_clicked(self) -> None:
        try:
            campaign = self.save()
        except TemplateValidationError as exc:
            self._ui.saved.value = _refused("Not saved: fix these first.", issues_html(exc.issues))
        except (CampaignError, ValueError, TypeError) as exc:
            self._ui.saved.value = _refused(f"Not saved: {exc}", "")
        else:
            saved = f"✔ Saved to campaign {campaign.name!r} (id {campaign.id}, {campaign.status})."
            self._ui.saved.value = f'<span class="cs-saved" style="color:#1b7f3b">{html.escape(saved)}</span>'


def _refused(message: str, details: str) -> str:
    return f'<div class="cs-refused" style="color:#c62828">{html.escape(message)}{details}</div>'

