"""Cell sources of the notebooks (built and executed by _build.py). ("md", text) or ("code", source)."""

from __future__ import annotations

FRESH_STORE = '''
import os

import campaign_sdk as cs

DB = "{db}"
for suffix in ("", "-wal", "-shm", ".analytics.duckdb", ".analytics.duckdb.wal"):  # start from an empty store
    if os.path.exists(DB + suffix):
        os.remove(DB + suffix)
'''

QUICKSTART = [
    ("md", """
# Quick start: a campaign end to end

Create a campaign from a default template, load leads from `data/`, check what a send would do,
send it through the **sandbox gateway** (a deterministic simulator: nothing is really sent), pull
statuses and replies, and look at the metrics."""),
    ("code", FRESH_STORE.format(db="quickstart.db") + '''
import datetime as dt

sandbox = cs.SandboxGateway(seed=42, start=dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC), realtime=False)
client = cs.CampaignClient(f"sqlite:///{DB}", gateway=sandbox)
client'''),
    ("md", "The catalogue of ready templates, with the variables each one uses:"),
    ("code", 'client.default_templates()[["key", "content_type", "category", "context_variables"]]'),
    ("code", '''campaign = client.create_campaign("Order confirmations", template="order_confirmation")
print(campaign.content.body)
campaign.variables'''),
    ("md", "Load the sample leads: every phone number is normalised to E.164; bad rows are reported, not dropped."),
    ("code", '''report = campaign.add_leads("../data/sample_leads.csv", default_region="US", progress=False)
report'''),
    ("code", 'report.rejected.head(8)'),
    ("md", "Submit the template for WhatsApp approval (the local lint runs first), then sync until WhatsApp decides."),
    ("code", '''campaign.submit_for_approval(category="UTILITY")
while campaign.sync_approval() not in ("approved", "rejected"):
    sandbox.advance(hours=6)
campaign.status, campaign.approval_state'''),
    ("code", '''campaign.enable()
check = campaign.preflight()
check'''),
    ("code", '''# NBVAL_IGNORE_OUTPUT
# (the duration and throughput vary from run to run)
sent = campaign.send(progress=False)
sent'''),
    ("md", "A day later: pull delivery statuses, replies and opt-outs, and the (simulated) orders."),
    ("code", '''for _ in range(3):
    sandbox.advance(hours=8)
    client.sync()
client.record_conversions(sandbox.simulated_conversions())'''),
    ("code", '''columns = ["campaign", "total_leads", "messages_sent", "delivered", "read", "messages_replied",
           "reply_rate", "reply_rate_low", "reply_rate_high", "conversion_rate"]
campaign.metrics()[columns].round(1)'''),
    ("code", 'campaign.funnel().round(1)'),
    ("code", '''from campaign_sdk.analytics import funnel_chart

funnel_chart(campaign.funnel(), title="Order confirmations (sandbox)")'''),
]


TEMPLATES = [
    ("md", """
# Templates: draft, validate, compile, submit

The Template Studio checks a draft on every keystroke against Twilio's limits and the WhatsApp
approval lint, counts characters against each field's limit, and previews the message with a
sample lead's values. Everything it shows is readable from code, which is what this notebook does
below each studio."""),
    ("code", FRESH_STORE.format(db="templates.db") + '''import datetime as dt

import pandas as pd

from campaign_sdk.widgets import TemplateStudio

sandbox = cs.SandboxGateway(seed=7, start=dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC), realtime=False)
client = cs.CampaignClient(f"sqlite:///{DB}", gateway=sandbox)


def issues(items):
    """Issues as a small table."""
    return pd.DataFrame([{"field": i.field, "rule": i.rule, "severity": i.severity, "message": i.message}
                         for i in items], columns=["field", "rule", "severity", "message"])'''),
    ("md", "## Every content type\nEach default template opens in the studio; their variables:"),
    ("code", '''studios = {t.content_type: TemplateStudio(template=t.key) for t in cs.default_templates()}
pd.DataFrame(
    [{"content_type": ct, "errors": len(s.errors), "warnings": len(s.warnings),
      "variables": ", ".join(v.name for v in s.variables)} for ct, s in studios.items()]
)'''),
    ("code", 'studios["twilio/call-to-action"]'),
    ("code", 'print(studios["twilio/call-to-action"].preview_text)'),
    ("md", "## A draft WhatsApp would reject, and its fix"),
    ("code", '''studio = TemplateStudio("twilio/text", samples=[{"lead_name": "Ana", "order_id": "A-1042"}])
studio.value = {"body": "{{lead_name}} {{order_id}}"}
issues(studio.errors + studio.warnings)'''),
    ("code", '''studio.value = {"body": "Hi {{lead_name}}, your order {{order_id}} is packed and leaves our warehouse today."}
print(issues(studio.errors + studio.warnings).to_string() if studio.errors + studio.warnings else "no problems")
print(studio.preview_text)'''),
    ("code", 'studio'),
    ("md", "The studio's preview bubble on its own (a saved notebook keeps this picture even without the live widget):"),
    ("code", """from IPython.display import HTML

HTML(studio.preview_html)"""),
    ("md", "An over-long body is refused with Twilio's limit, and the counter says by how much:"),
    ("code", '''studio.value = {"body": "Hi {{lead_name}}, " + "so much to say " * 110}
print(studio.counters["body"])
issues(studio.errors)'''),
    ("md", """## A carousel and an authentication template
A `twilio/carousel` is a body above up to ten cards, each with media, a short text (title and body
share 160 characters) and one or two buttons laid out the same way on every card. Its cards are
edited as JSON in the studio, and the preview shows them side by side:"""),
    ("code", '''carousel = TemplateStudio(template="new_arrivals")
print(len(carousel.errors), "errors;", [w.rule for w in carousel.warnings], "warnings")
HTML(carousel.preview_html)'''),
    ("md", "Give two cards different button layouts and the studio says which card breaks the rule:"),
    ("code", '''cards = carousel.value["cards"]
cards[1]["actions"] = [{"type": "QUICK_REPLY", "title": "I want it", "id": "tote"}]
carousel.value = {**carousel.value, "cards": cards}
issues(carousel.errors)'''),
    ("md", """A `whatsapp/authentication` template sends a one-time code: WhatsApp writes the text itself;
the template chooses the security recommendation, the expiry footer (1 to 90 minutes) and the
copy-code button. It must be submitted as AUTHENTICATION, and only it may be:"""),
    ("code", '''otp = TemplateStudio(template="login_code")
print(otp.preview_text.replace("{{1}}", "482913"))
codes = client.create_campaign("Login codes", template="login_code", campaign_type="service", language="en_US")
try:
    codes.submit_for_approval(category="UTILITY")
except cs.TemplateValidationError as err:
    display(issues(err.issues))
codes.submit_for_approval(category="AUTHENTICATION")
codes.status, codes.language'''),
    ("code", 'cs.compile_variables(codes.content).to_json({"otp": "482913"})  # the code is the one send-time variable'),
    ("md", "## Named variables compile to WhatsApp's numbered form"),
    ("code", '''content = cs.TwilioTextContext(body="Hi {{lead_name}}, your order {{order_id}} ships with {{carrier}}. Thanks {{lead_name}}!")
compiled = cs.compile_variables(content)
print(compiled.context.body)
compiled.mapping'''),
    ("code", 'compiled.to_json({"lead_name": "Ana", "order_id": "A-1042", "carrier": "UPS"})'),
    ("md", "## Submit for approval (sandbox)\nThe local lint runs first; a template it flags is refused with every reason, before anything reaches Twilio."),
    ("code", '''bad = client.create_campaign("Too terse", content=cs.TwilioTextContext(body="{{lead_name}} {{order_id}}"))
try:
    bad.submit_for_approval(category="UTILITY")
except cs.TemplateValidationError as err:
    display(issues(err.issues))
bad.status'''),
    ("code", '''studio.value = {"body": "Hi {{lead_name}}, your order {{order_id}} is packed and leaves our warehouse today."}
campaign = studio.save(client, name="Packed")
# Samples are yours to declare (Twilio needs one per variable; never a customer's data).
campaign.submit_for_approval(category="UTILITY", samples={"lead_name": "Ana", "order_id": "A-1042"})
history = [campaign.approval_state.value]
while campaign.sync_approval() not in ("approved", "rejected"):
    sandbox.advance(hours=6)
    history.append(campaign.approval_state.value)
history, campaign.status'''),
]

ANALYTICS = [
    ("md", """
# Analytics: reply and conversion rates, with their uncertainty

Two variants are sent to halves of the sample leads through the sandbox; we then look at every
rate with its numerator, denominator and 95% Wilson interval, by campaign, day and segment, the
funnel, time to reply, and a DuckDB SQL cell. The definitions are in the README."""),
    ("code", FRESH_STORE.format(db="analytics.db") + '''import datetime as dt

import pandas as pd

from campaign_sdk import analytics

sandbox = cs.SandboxGateway(seed=11, start=dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC), realtime=False,
                            reply_rate=0.2, conversion_rate=0.08)
client = cs.CampaignClient(f"sqlite:///{DB}", gateway=sandbox)
leads = pd.read_csv("../data/sample_leads.csv", dtype=str)
pd.set_option("display.precision", 2)
bodies = {
    "A": "Hi {{lead_name}}, thank you for your order {{order_id}}. We will message you again when it ships.",
    "B": "Good news {{lead_name}}: order {{order_id}} is confirmed. Reply here if anything needs changing.",
}
campaigns = {v: client.create_campaign(f"Variant {v}", content=cs.TwilioTextContext(body=b)) for v, b in bodies.items()}
for campaign in campaigns.values():
    campaign.submit_for_approval(category="UTILITY", samples={"lead_name": "Ana", "order_id": "A-1042"})
while any(c.sync_approval() not in ("approved", "rejected") for c in campaigns.values()):
    sandbox.advance(hours=6)
for day in range(6):  # each variant goes to a sixth of its leads every day
    for variant, campaign in campaigns.items():
        mine = leads[leads["variant"] == variant]
        campaign.add_leads(mine.iloc[day::6], default_region="US", progress=False)
        campaign.enable().send(progress=False)
    sandbox.advance(days=1)
    client.sync()
for _ in range(8):
    sandbox.advance(hours=12)
    client.sync()
client.record_conversions(sandbox.simulated_conversions())
client.campaigns()[["name", "status", "total_leads", "messages_sent", "messages_replied", "reply_rate", "conversion_rate"]].round(2)'''),
    ("md", "## Rates by campaign, with intervals"),
    ("code", '''rates = ["reply_rate", "conversion_rate", "delivery_rate", "read_rate", "opt_out_rate"]
long = client.metrics(shape="long")
long[long["metric"].isin(rates)][["campaign", "metric", "numerator", "denominator", "value", "low", "high"]].round(2)'''),
    ("md", "## By day and by segment"),
    ("code", '''by_day = client.metrics(by="day")
by_day[["campaign", "day", "messages_sent", "messages_replied", "reply_rate", "reply_rate_low", "reply_rate_high"]]'''),
    ("code", '''by_city = client.metrics(by="city")
by_city.pivot(index="city", columns="campaign", values="reply_rate").round(1)'''),
    ("code", 'analytics.rates_chart(by_day, rate="reply_rate", title="Reply rate by send day (95% Wilson intervals)")'),
    ("md", "## The funnel"),
    ("code", '''funnel = client.campaign("Variant A").funnel()
funnel.round(1)'''),
    ("code", 'analytics.funnel_chart(funnel, title="Variant A")'),
    ("md", "## Time to reply"),
    ("code", '''times = client.reply_times()
times.head()'''),
    ("code", 'analytics.reply_times_chart(times, title="Time to first reply")'),
    ("md", "## Comparing the two variants\nThe two rates with their intervals side by side: overlapping intervals mean the data cannot tell the variants apart."),
    ("code", '''wide = client.metrics().set_index("campaign")
wide[["messages_sent", "messages_replied", "reply_rate", "reply_rate_low", "reply_rate_high",
      "converted", "conversion_rate", "conversion_rate_low", "conversion_rate_high"]].round(2)'''),
    ("md", "## Your own SQL\n`client.sql` is a DuckDB relation over up-to-date views (`campaigns`, `leads`, `messages`, `replies`, `conversions`)."),
    ("code", '''client.sql("""
    select c.name as campaign, m.error_code, count(*) as messages
    from messages m join campaigns c on c.id = m.campaign_id
    where m.status in ('failed', 'undelivered')
    group by all order by campaign, messages desc
""").df()'''),
]

BULK = [
    ("md", """
# Bulk leads: 100,000 rows, every bad row reported, re-loads idempotent

A growth team's export: national and international formats, `whatsapp:` prefixes, a few invalid
numbers and duplicates, and custom variables with gaps."""),
    ("code", FRESH_STORE.format(db="bulk.db") + '''import numpy as np
import pandas as pd

client = cs.CampaignClient(f"sqlite:///{DB}")
campaign = client.create_campaign("Winter sale", template="welcome_offer")
campaign.variables'''),
    ("code", '''rng = np.random.default_rng(2026)
n = 100_000
areas = rng.choice(["212", "305", "415", "512", "617", "720"], n)
exchange = rng.integers(200, 999, n).astype(str)
line = np.char.zfill(rng.integers(0, 9999, n).astype(str), 4)
e164 = "+1" + areas + exchange + line
shape = rng.random(n)
phone = np.where(shape < 0.7, e164,
        np.where(shape < 0.9, "(" + areas + ") " + exchange + "-" + line,
        np.where(shape < 0.97, "whatsapp:" + e164, "555-" + line)))
df = pd.DataFrame({
    "phone": phone,
    "lead_name": rng.choice(["Ana", "Ben", "Chloe", "Diego", None], n),
    "discount": rng.choice(["10%", "15%", "20%"], n),
    "city": rng.choice(["Austin", "Boston", "Miami"], n),
})
df = pd.concat([df, df.sample(2_000, random_state=1)], ignore_index=True)  # duplicates
df.head()'''),
    ("code", '''report = campaign.add_leads(df, phone_column="phone", default_region="US", progress=False)
report'''),
    ("code", 'report.rejected.groupby("reason").size().rename("rows").to_frame()'),
    ("code", 'report.rejected.head()'),
    ("code", 'report.missing_variables.head()'),
    ("md", "Loading the same data again changes nothing:"),
    ("code", '''again = campaign.add_leads(df, phone_column="phone", default_region="US", progress=False)
again.counts'''),
    ("code", '''leads = campaign.leads
leads["custom_variables"].map(lambda v: v.get("city")).value_counts().rename("leads").to_frame()'''),
]

NOTEBOOKS = {
    "01_quickstart": QUICKSTART,
    "02_templates": TEMPLATES,
    "03_analytics": ANALYTICS,
    "04_bulk_leads": BULK,
}
