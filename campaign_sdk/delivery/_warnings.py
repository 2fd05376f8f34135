"""Plan-level warnings: what Twilio or Meta will likely do to messages the plan sends, though
nothing in the SDK's own policy holds them back. They go to ``plan.attrs["warnings"]`` and to
``preflight().warnings``; no lead is skipped because of them.
"""

from __future__ import annotations

import pandas as pd

from campaign_sdk.facts import delivery as facts


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
    if channel == "whatsapp" and template_category.lower() == "marketing":
        live = plan["action"].isin(["send", "defer"]) & plan["country"].isin(facts.US_MARKETING_PAUSED_REGIONS)
        if n := int(live.sum()):
            out.append(
                f"{n} lead(s) in the US would get a WhatsApp marketing template: Meta has not delivered those "
                f"since {facts.US_MARKETING_PAUSED_SINCE:%Y-%m-%d} (Twilio error {int(facts.US_MARKETING_PAUSED_ERROR)}, "
                "do not retry); reach them by SMS, or, if the message is transactional, use a template "
                "approved as UTILITY"
            )
    return out
