"""``LeadLoader``: pick or upload a CSV, choose the phone column and region, preview, then load."""

from __future__ import annotations

import html
import io
from pathlib import Path
from typing import Any

import ipywidgets as w
import pandas as pd
import phonenumbers

from campaign_sdk import Campaign, CampaignClient, CampaignError, LeadLoadReport
from campaign_sdk.leads import read_input

PREVIEW_NOTE = (
    "nothing is stored yet. Rejected rows and missing variables are exact; how many leads "
    "are new, updated or skipped as opted out is known when you load."
)
_NO_REGION = "none (numbers in +E.164)"


class LeadLoader(w.VBox):
    """Load leads into ``campaign`` from a CSV (uploaded, or picked from ``directory``) or a DataFrame.

    Choose the phone column and the default region, press Preview to see the
    :class:`~campaign_sdk.LeadLoadReport` (every rejected row and why) without storing anything,
    then Load to call :meth:`Campaign.add_leads` with the same options. Scriptable too::

        loader = LeadLoader(campaign, data=df, phone_column="phone", default_region="US")
        loader.preview().rejected      # nothing stored
        loader.commit()                # the real load (atomic, idempotent)
    """

    def __init__(
        self,
        campaign: Campaign,
        data: pd.DataFrame | str | Path | None = None,
        *,
        directory: str | Path = ".",
        phone_column: str | None = None,
        default_region: str | None = None,
        strict: bool = False,
    ) -> None:
        super().__init__()
        self.add_class("cs-lead-loader")
        self.campaign = campaign
        self.report: LeadLoadReport | None = None
        self._data = pd.DataFrame()
        self._version = 0
        self._previewed: tuple[Any, ...] | None = None
        files = sorted(str(p) for p in Path(directory).glob("*.csv"))
        self._file = w.Dropdown(options=[("pick a CSV file", "")] + [(Path(f).name, f) for f in files],
                                description="File", layout=w.Layout(width="330px"))
        self._upload = w.FileUpload(accept=".csv", multiple=False, description="Upload CSV")
        self._phone = w.Dropdown(description="Phone column", style={"description_width": "initial"})
        regions = sorted(phonenumbers.SUPPORTED_REGIONS)
        options = [(_NO_REGION, "")] + [(f"{r} (+{phonenumbers.country_code_for_region(r)})", r) for r in regions]
        self._region = w.Dropdown(options=options, value=default_region or "", description="Region",
                                  layout=w.Layout(width="290px"))
        self._strict = w.Checkbox(value=strict, description="Reject rows missing a template variable",
                                  indent=False)
        self._summary, self._result = w.HTML(), w.HTML()
        self._result.add_class("cs-lead-report")
        preview = w.Button(description="Preview", icon="eye")
        self._load = w.Button(description="Load into campaign", icon="upload", button_style="primary",
                              disabled=True, layout=w.Layout(width="180px"))
        for widget, name in ((self._file, "file"), (self._upload, "upload"), (self._phone, "phone"),
                             (self._region, "region"), (self._strict, "strict"), (preview, "preview"),
                             (self._load, "load"), (self._summary, "summary")):
            widget.add_class(f"cs-leads-{name}")
        preview.on_click(lambda _b: self._run(self.preview))
        self._load.on_click(lambda _b: self._run(self.commit))
        self._file.observe(self._picked, names="value")
        self._upload.observe(self._uploaded, names="value")
        for control in (self._phone, self._region, self._strict):
            control.observe(lambda _c: self._stale(), names="value")
        self.children = [
            w.HTML(f"<h3 style='margin:4px 0'>Load leads into {html.escape(campaign.name)}</h3>"),
            w.HBox([self._file, self._upload]), self._summary,
            w.HBox([self._phone, self._region]), self._strict, w.HBox([preview, self._load]), self._result,
        ]
        if data is not None:
            self.data = read_input(data)
        if phone_column is not None:
            self.phone_column = phone_column

    @property
    def data(self) -> pd.DataFrame:
        """The rows to load (a CSV is read as text, keeping leading zeros and '+')."""
        return self._data

    @data.setter
    def data(self, data: pd.DataFrame) -> None:
        self._set_data(data)

    @property
    def phone_column(self) -> str | None:
        return self._phone.value

    @phone_column.setter
    def phone_column(self, column: str) -> None:
        self._phone.value = column

    @property
    def default_region(self) -> str | None:
        """The region (e.g. ``"US"``) for numbers written without a country code; None: none."""
        return self._region.value or None

    @default_region.setter
    def default_region(self, region: str | None) -> None:
        self._region.value = region or ""

    @property
    def strict(self) -> bool:
        return bool(self._strict.value)

    @strict.setter
    def strict(self, strict: bool) -> None:
        self._strict.value = strict

    def preview(self) -> LeadLoadReport:
        """What loading would report, computed on an empty in-memory copy of the campaign."""
        with CampaignClient("sqlite:///:memory:") as scratch:
            copy = scratch.create_campaign(self.campaign.name, content=self.campaign.content)
            self.report = copy.add_leads(self._data, **self._options())
        self._previewed = self._settings()
        self._load.disabled = False
        self._result.value = _shown("Preview", PREVIEW_NOTE, self.report)
        return self.report

    def commit(self) -> LeadLoadReport:
        """Load the leads into the campaign (``Campaign.add_leads``) and show its report."""
        self.report = self.campaign.add_leads(self._data, **self._options())
        self._load.disabled = True
        self._result.value = _shown("Loaded", f"Stored in campaign {self.campaign.name!r}.", self.report)
        return self.report

    def _options(self) -> dict[str, Any]:
        return {"phone_column": self.phone_column or "phone_number", "default_region": self.default_region,
                "strict": self.strict}

    def _settings(self) -> tuple[Any, ...]:
        return self._version, self.phone_column, self.default_region, self.strict

    def _stale(self) -> None:
        self._load.disabled = self._previewed != self._settings()

    def _set_data(self, data: pd.DataFrame) -> None:
        self._data = data
        self._version += 1
        columns = [str(c) for c in data.columns]
        self._phone.options = columns
        if columns:
            self._phone.value = _guess_phone(columns)
        self._summary.value = (
            f"<p>{len(data):,} rows; columns: {html.escape(', '.join(columns))}</p>"
            + data.head(5).to_html(index=False, max_cols=8)
        )
        self._stale()

    def _picked(self, change: Any) -> None:
        if change["new"]:
            self._set_data(read_input(change["new"]))

    def _uploaded(self, change: Any) -> None:
        for item in change["new"]:
            self._set_data(pd.read_csv(io.BytesIO(bytes(item["content"])), dtype=str, keep_default_na=True))

    def _run(self, action: Any) -> None:
        try:
            action()
        except (CampaignError, ValueError) as exc:
            self._result.value = f'<p class="cs-refused" style="color:#c62828">✖ {html.escape(str(exc))}</p>'


def _guess_phone(columns: list[str]) -> str:
    if "phone_number" in columns:
        return "phone_number"
    return next((c for c in columns if "phone" in c.lower()), columns[0])


def _shown(title: str, note: str, report: LeadLoadReport) -> str:
    missing = len(report.missing_variables)
    extra = (
        f"<p style='color:#a15c00'>⚠ {missing:,} kept lead(s) lack a template variable; their sends "
        "would fail (Twilio error 21656). Tick the box above to reject them instead.</p>"
        if missing else ""
    )
    return f"<p><b>{title}</b>: {html.escape(note)}</p>{report._repr_html_()}{extra}"
