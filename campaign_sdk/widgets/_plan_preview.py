"""The per-recipient preview of a delivery plan: pick a lead, see what it will get and when.

The WhatsApp-style bubble with the lead's own values (its experiment arm's content), its zone and
local send time, and why it is deferred (quiet hours, a schedule, the messaging limit) or skipped
(the reason and what to do), read from ``campaign.plan()``. Scriptable::

    preview = PlanPreview(campaign, now=dt.datetime(2026, 7, 1, 2, tzinfo=dt.UTC))
    preview.lead_id = 42            # or pick it in the dropdown, or type a phone number
    preview.state                   # what the widget shows, as a dict
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import pandas as pd

from campaign_sdk.delivery import REASONS
from campaign_sdk.widgets._bubble import bubble_html

_ACTION = {"send": "sent now", "defer": "deferred", "skip": "skipped", "holdout": "held out (never sent)"}
_COLOR = {"send": "#1a7f37", "defer": "#a15c00", "skip": "#b42318", "holdout": "#54656f"}
_LIVE = ("send", "defer")  # the actions whose message goes out (now or later)


def _options(plan: pd.DataFrame, limit: int) -> list[tuple[str, int]]:
    """Dropdown entries: a few leads of every (action, reason), then the first ones, up to ``limit``."""
    if plan.empty:
        return []
    keys = plan[["action", "reason"]].astype(object).fillna("")
    firsts = plan.groupby([keys["action"], keys["reason"]], sort=False).head(3).index
    chosen = list(dict.fromkeys([*firsts, *plan.index[:limit]]))[:limit]
    rows = plan.loc[chosen]
    return [(f"{r.phone_number} · {r.action}" + (f" ({r.reason})" if isinstance(r.reason, str) else ""), int(r.lead_id))
            for r in rows.itertuples()]


class PlanPreview(w.VBox):
    """Pick one lead of ``campaign``'s delivery plan (``plan``, or ``campaign.plan(**options)``):
    the message bubble with its values, its local send time and why it is deferred or skipped."""

    def __init__(self, campaign: Any, plan: pd.DataFrame | None = None, *, max_options: int = 200,
                 **options: Any) -> None:
        super().__init__()
        self.add_class("cs-plan-preview")
        self.campaign = campaign
        self.plan = plan if plan is not None else campaign.plan(**options)
        self._rows = self.plan.set_index("lead_id", drop=False)
        self._pick = w.Dropdown(options=_options(self.plan, max_options), description="Lead",
                                layout=w.Layout(width="420px"))
        self._phone = w.Text(placeholder="or type a phone number (E.164) and press Enter", continuous_update=False,
                             layout=w.Layout(width="330px"))
        self._bubble, self._details = w.HTML(), w.HTML()
        for widget, name in ((self._pick, "pick"), (self._phone, "phone"), (self._bubble, "bubble"),
                             (self._details, "details")):
            widget.add_class(f"cs-plan-{name}")
        self._pick.observe(lambda change: self._show(change["new"]), names="value")
        self._phone.observe(lambda _c: self._by_phone(), names="value")
        self.children = [w.HBox([self._pick, self._phone]), w.HBox([self._bubble, self._details])]
        self.state: dict[str, Any] = {}
        self._show(self._pick.value)

    @property
    def lead_id(self) -> int | None:
        """The lead shown (set it to show another; it need not be in the dropdown)."""
        return self.state.get("lead_id")

    @lead_id.setter
    def lead_id(self, lead_id: int) -> None:
        if lead_id not in self._rows.index:
            raise KeyError(f"lead {lead_id} is not in this campaign's plan")
        if any(value == lead_id for _, value in self._pick.options):
            self._pick.value = lead_id
        else:
            self._show(lead_id)

    @property
    def html(self) -> str:
        """The bubble and the details as static HTML (what a saved notebook keeps)."""
        return f'<div style="display:flex;gap:16px;align-items:flex-start">{self._bubble.value}{self._details.value}</div>'

    def _by_phone(self) -> None:
        found = self._rows.index[self._rows["phone_number"] == self._phone.value.strip()]
        if len(found):
            self.lead_id = int(found[0])
        else:
            self._details.value = f"<p>No lead with the number {html.escape(self._phone.value)} in this plan.</p>"

    def _show(self, lead_id: int | None) -> None:
        if lead_id is None:
            self.state, self._bubble.value, self._details.value = {}, "", "<p>The plan has no leads.</p>"
            return
        row = self._rows.loc[lead_id]
        content, values = self._lead(int(lead_id))
        action, reason = str(row["action"]), _value(row["reason"])
        local = row["local_send_time"]
        self.state = {
            "lead_id": int(lead_id), "phone_number": row["phone_number"], "variant": _value(row["variant"]),
            "action": action, "reason": reason, "why": REASONS.get(reason) if reason else None,
            "zone": _value(row["zone"]),
            "local_send_time": None if pd.isna(local) else pd.Timestamp(local),
            "send_at": None if pd.isna(row["send_at"]) else pd.Timestamp(row["send_at"]),
            "message": _value(row["message"]), "values": values,
        }
        note = f"{_ACTION.get(action, action)}: {reason}" if reason else ""
        local_time = self.state["local_send_time"] if action in _LIVE else None
        clock = None if local_time is None else f"{local_time:%H:%M}"  # the recipient's wall clock
        self._bubble.value = bubble_html(content, values, note=note, stale=action not in _LIVE, time=clock,
                                         channel=self._channel)
        self._details.value = self._table(row)

    @property
    def _channel(self) -> str:
        return str(getattr(self.campaign._client.gateway, "channel", "whatsapp"))

    def _lead(self, lead_id: int) -> tuple[Any, dict[str, Any]]:
        """The lead's values and its arm's content (the campaign's own outside experiments)."""
        from campaign_sdk import experiments, service
        from campaign_sdk.models import CampaignLead

        with self.campaign._client.transaction() as session:
            lead = session.get(CampaignLead, lead_id)
            row = service.get_campaign(session, self.campaign.id)
            arms = experiments.send_arms(row)
            arm = arms.get(lead.variant if lead is not None else None, arms[None])
            content = arm.content if arm.content is not None else service.content_of(row)
            return content, dict(lead.custom_variables or {}) if lead is not None else {}

    def _table(self, row: pd.Series) -> str:
        s = self.state
        live = s["action"] in _LIVE
        if s["local_send_time"] is None or not live:
            when = "not sent"
        else:
            where = f"in {s['zone']}" if s["zone"] else "(zone unknown)"
            when = f"{s['local_send_time']:%a %d %b %H:%M} {where} ({s['send_at']:%H:%M} UTC)"
        if not live:
            cost = "none: not sent"
        elif pd.isna(row["cost"]):
            cost = "unknown"
        else:
            cost = f"{row['cost']:.4f} {_value(row['currency']) or ''}".rstrip()
        if live and (cost_reason := _value(row["cost_reason"])):
            cost += f" ({cost_reason})"
        zones = _value(row["zones"]) or "unknown"
        lines = [
            ("action", f'<b style="color:{_COLOR.get(s["action"], "#111")}">{_ACTION.get(s["action"], s["action"])}</b>'),
            ("why", html.escape(s["why"] or "nothing holds it back")),
            *((("detail", html.escape(detail)),) if (detail := _value(row["detail"])) else ()),
            ("arrives", html.escape(when)),
            ("zones", html.escape(zones) + (" <i>(ambiguous: the window allowed in all)</i>" if _value(row["ambiguous"]) else "")),
            ("country", html.escape(_value(row["country"]) or "unknown")),
            ("variant", html.escape(s["variant"] or "no experiment")),
        ]
        if self._channel == "sms":
            segments, encoding = _value(row["sms_segments"]), _value(row["sms_encoding"])
            lines.append(("SMS", html.escape(f"{segments} segment(s), {encoding}" if segments is not None else "-")))
        lines.append(("cost", html.escape(cost)))
        body = "".join(f'<tr><th style="text-align:left;padding-right:10px">{k}</th><td>{v}</td></tr>' for k, v in lines)
        return f'<table class="cs-plan-table" style="font-size:13px">{body}</table>'


def _value(value: Any) -> Any:
    """A plan cell, None where it is missing (None, NaN, NaT, pd.NA): never shown as "nan"."""
    return None if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else value
