"""One default for the reply and attribution windows, used by every function that has one."""

from __future__ import annotations

import datetime as dt
import inspect
import re
from pathlib import Path

from campaign_sdk import Campaign, CampaignClient, analytics
from campaign_sdk.analytics import DEFAULT_WINDOW, _metrics, parse_window

ROOT = Path(__file__).resolve().parents[2]


def test_every_window_default_is_the_one_constant() -> None:
    from campaign_sdk.server import _metrics as routes

    functions = [CampaignClient.metrics, CampaignClient.reply_times, Campaign.funnel,
                 *(getattr(_metrics, n) for n in dir(_metrics) if inspect.isfunction(getattr(_metrics, n))),
                 *(getattr(routes, n) for n in dir(routes) if inspect.isfunction(getattr(routes, n)))]
    defaults = [(f.__qualname__, p.default) for f in functions for name, p in inspect.signature(f).parameters.items()
                if name in ("reply_window", "attribution_window") and p.default is not p.empty]
    assert len(defaults) >= 15
    assert all(default == DEFAULT_WINDOW for _, default in defaults), defaults


def test_the_default_is_the_documented_seven_days_and_written_once() -> None:
    # Doctest examples (a frequency cap's per="7d", say) show values; they are not defaults.
    assert parse_window(DEFAULT_WINDOW) == dt.timedelta(days=7)
    assert "reply_window`` (default\n  7 days)" in analytics.DEFINITIONS and "(default 7 days)" in analytics.DEFINITIONS
    written = [f"{path.relative_to(ROOT)}:{n}" for path in (ROOT / "campaign_sdk").rglob("*.py")
               for n, line in enumerate(path.read_text().splitlines(), 1)
               if re.search(r"""=\s*["']7d["']""", line) and not line.lstrip().startswith((">>>", "..."))]
    assert len(written) == 1 and written[0].startswith("campaign_sdk/analytics/_definitions.py:"), written
