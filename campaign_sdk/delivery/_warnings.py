"""Plan-level warnings: what Twilio or Meta will likely do to messages the plan sends, though
nothing in the SDK's own policy holds them back. They go to ``plan.attrs["warnings"]``, to
``preflight().warnings`` and to ``send()``'s ``report.notes``; no lead is skipped because of them.
"""

from __future__ import annotations

import re

import duckdb
import pandas as pd

from campaign_sdk.delivery import _zone_cache as zone_cache
from campaign_sdk.delivery._segments import sms_segments
from campaign_sdk.facts import delivery as facts

_SMART = re.compile("[" + re.escape("".join(facts.SMART_ENCODING)) + "]")


def plan_warnings(plan: pd.DataFrame, *, channel: str, template_category: str) -> list[str]:
    """The warnings for ``plan`` (its ``action`` and ``country`` columns) on ``channel`` with a
    template of ``template_category`` (Meta's category when the template was submitted with one,
    else the campaign's type).

    >>> plan = pd.DataFrame({"action": ["send", "defer", "skip", "send"], "country": ["US", "US", "US", "BR"]})
    >>> plan_warnings(plan, channel="whatsapp", template_category="marketing")[0][:76]
    '2 lead(s) in the US would get a WhatsApp marketing template: Meta has not de'
    >>> plan_warnings(plan, channel="whatsapp", template_category="utility")
    []
    """
    out = []
    if channel == "sms" and (note := smart_encoding_warning(plan)):
        out.append(note)
    if channel == "whatsapp" and template_category.lower() == "marketing":
        live = plan["action"].isin(["send", "defer"]) & plan["country"].isin(facts.US_MARKETING_PAUSED_REGIONS)
        if note := us_marketing_warning(int(live.sum())):
            out.append(note)
    return out


def us_marketing_warning(leads: int) -> str | None:
    """The warning for ``leads`` sent or deferred WhatsApp marketing templates to US numbers
    (None for none): Meta does not deliver them (Twilio error 63049)."""
    if not leads:
        return None
    return (
        f"{leads} lead(s) in the US would get a WhatsApp marketing template: Meta has not delivered those "
        f"since {facts.US_MARKETING_PAUSED_SINCE:%Y-%m-%d} (Twilio error {int(facts.US_MARKETING_PAUSED_ERROR)}, "
        "do not retry); reach them by SMS, or, if the message is transactional, use a template "
        "approved as UTILITY"
    )


def decisions_warnings(con: duckdb.DuckDBPyConnection, plan: pd.DataFrame, *, channel: str,
                       template_category: str) -> list[str]:
    """The warnings of a decisions-only plan (``lead_id``, ``action``: what ``send()`` reads; no
    country column), found on the analytics mirror ``con``: each lead's country is its person's
    place in the zone cache (:mod:`._zone_cache`), which the plan has just filled."""
    if channel != "whatsapp" or template_category.lower() != "marketing" or plan.empty:
        return []
    con.register("_warn_plan", plan[["lead_id", "action"]])
    try:
        (leads,) = con.execute(f"""
            SELECT count(*) FROM _warn_plan d JOIN leads l ON l.id = d.lead_id JOIN users u ON u.id = l.user_id
            JOIN {zone_cache.schema(con)}.user_places up ON up.user_id = u.id AND up.phone = u.phone_number
            JOIN {zone_cache.schema(con)}.places p ON p.place = up.place
            WHERE d.action IN ('send', 'defer') AND list_contains($regions, p.country)""",
            {"regions": sorted(facts.US_MARKETING_PAUSED_REGIONS)}).fetchall()[0]
    finally:
        con.unregister("_warn_plan")
    note = us_marketing_warning(int(leads))
    return [note] if note else []


def smart_encoding_warning(plan: pd.DataFrame) -> str | None:
    """A warning when SMS messages the plan sends are UCS-2 (70 characters a segment) only because
    of characters Twilio's Smart Encoding would replace (curly quotes, dashes, ...) and take more
    segments for it: how many, which characters, and the segments they take with and without it. The plan counts segments as sent
    without Smart Encoding; a Messaging Service that has it on sends fewer.

    >>> plan = pd.DataFrame({"action": ["send", "send", "skip"], "sms_encoding": ["UCS-2", "GSM-7", "UCS-2"],
    ...                      "message": ["It\u2019s " + "x" * 70, "ok", "\u2014"], "sms_segments": [2, 1, 1]})
    >>> print(smart_encoding_warning(plan))  # doctest: +NORMALIZE_WHITESPACE
    1 SMS message(s) are UCS-2 (70 characters a segment) only because of characters that Twilio's
    Smart Encoding replaces with GSM-7 ones: ’ (U+2019). They take 2 segment(s) as planned; with Smart
    Encoding on for the Messaging Service (or SmartEncoded=true) 1. Or write those characters as
    plain ones (' " - ...) in the template and variables
    """
    live = plan["action"].isin(["send", "defer"]).to_numpy() & (plan["sms_encoding"] == facts.UCS2).to_numpy()
    if not live.any():
        return None
    texts = plan.loc[live, "message"].fillna("").astype(str)
    texts = texts[texts.str.contains(_SMART)]
    if texts.empty:
        return None
    before = plan.loc[texts.index, "sms_segments"].astype(int)
    smart = {text: sms_segments(text, smart_encoding=True) for text in texts.unique()}
    # GSM-7 with it and fewer segments: else (an emoji or a script keeps them UCS-2, or a short
    # message is one segment either way) Smart Encoding would save nothing and there is no warning
    fixed = pd.Series([smart[text].encoding == facts.GSM7 and smart[text].segments < n
                       for text, n in zip(texts, before)], index=texts.index, dtype=bool)
    if not fixed.any():
        return None
    after = texts[fixed].map(lambda text: smart[text].segments).astype(int)
    chars = sorted({c for text in texts[fixed].unique() for c in text if c in facts.SMART_ENCODING})
    shown = ", ".join(f"{c} (U+{ord(c):04X})" for c in chars[:5]) + (", ..." if len(chars) > 5 else "")
    return (
        f"{int(fixed.sum())} SMS message(s) are UCS-2 (70 characters a segment) only because of characters "
        f"that Twilio's Smart Encoding replaces with GSM-7 ones: {shown}. They take {int(before[fixed].sum())} "
        f"segment(s) as planned; with Smart Encoding on for the Messaging Service (or SmartEncoded=true) "
        f"{int(after.sum())}. Or write those characters as plain ones (' \" - ...) in the template and variables"
    )
