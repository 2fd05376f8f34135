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
# this demo sends at any hour; by default marketing arrives 09:00-21:00 in each recipient's zone
client.delivery_policy = cs.DeliveryPolicy(window=None)
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
# this demo sends at any hour; by default marketing arrives 09:00-21:00 in each recipient's zone
client.delivery_policy = cs.DeliveryPolicy(window=None)


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
    ("md", "## A draft WhatsApp would likely reject, and its fix\nWith a sample lead every variable has a value, so the placement rules below are warnings (see next)."),
    ("code", '''studio = TemplateStudio("twilio/text", samples=[{"lead_name": "Ana", "order_id": "A-1042"}])
studio.value = {"body": "{{lead_name}} {{order_id}}"}
issues(studio.errors + studio.warnings)'''),
    ("md", """A variable at the start or end of the body, or two side by side, is refused *without a sample*
(Twilio's text, call-to-action and variables pages); with a sample for it Twilio's pages allow it,
so the lint keeps it as a warning (its approval page still lists it as a common rejection reason):"""),
    ("code", '''draft = cs.TwilioTextContext(body="{{lead_name}}, your order {{order_id}} has shipped today, enjoy it")
pd.concat({"no samples": issues(cs.lint_whatsapp(draft)),
           "with samples": issues(cs.lint_whatsapp(draft, samples={"lead_name": "Ana", "order_id": "A-1042"}))})'''),
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
share 160 characters) and one or two buttons laid out the same way on every card. The studio edits
its cards as a form (one box per card: media URL, title, body and buttons, with add, move and
remove), and the preview shows them side by side:"""),
    ("code", '''carousel = TemplateStudio(template="new_arrivals")
print(len(carousel.errors), "errors;", [w.rule for w in carousel.warnings], "warnings")
HTML(carousel.preview_html)'''),
    ("code", "carousel  # the live studio: each card is a box of its own"),
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
# this demo sends at any hour; by default marketing arrives 09:00-21:00 in each recipient's zone
client.delivery_policy = cs.DeliveryPolicy(window=None)
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
    ("md", """## Comparing the two variants
Each rate with its own 95% interval, side by side. These intervals describe each rate alone; they
are **not** a test of the difference. Two 95% intervals can overlap while the difference is
significant (and not overlapping is a stricter test than 5%), so compare the variants with an
interval and a test of the *difference* instead (next cell)."""),
    ("code", '''wide = client.metrics().set_index("campaign")
wide[["messages_sent", "messages_replied", "reply_rate", "reply_rate_low", "reply_rate_high",
      "converted", "conversion_rate", "conversion_rate_low", "conversion_rate_high"]].round(2)'''),
    ("md", """The difference B - A with its 95% interval and p-value (statsmodels: Newcomb interval,
Agresti-Caffo test; `fixed` is valid for this one look at the end of the test, `sequential` if you
had been checking every day). The leads were split by the `variant` column of the data, so this
compares two campaigns, not a randomised experiment: notebook 05 runs one properly, with a holdout."""),
    ("code", '''from campaign_sdk.experiments import lift_rows

compared = []
for metric, numerator in [("reply_rate", "messages_replied"), ("conversion_rate", "converted")]:
    counts = {v: (int(wide.loc[f"Variant {v}", "messages_sent"]), int(wide.loc[f"Variant {v}", numerator])) for v in "AB"}
    compared.append(lift_rows(counts, "A", metric=metric))
difference = pd.concat(compared)
difference[difference["role"] == "treatment"][
    ["metric", "test", "arm", "control", "rate", "control_rate", "abs_lift", "abs_lift_low", "abs_lift_high", "p_value"]
].round(3)'''),
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

EXPERIMENTS = [
    ("md", """
# Experiments: plan, assign, send, read the lift

Two variants of one message and a holdout that gets nothing, in one campaign. Users are assigned
by a hash of the campaign's experiment seed and their phone number (the same on every engine and
in every process). The **sandbox** simulates each arm with its own true conversion rate, and people
who got no message still convert at a baseline rate, so there is a real lift to find. As in real
lists, one number in ten is invalid (a typo, a fake sign-up): Twilio refuses it, and the person
behind it never buys. The lift counts every lead assigned to an arm (intention to treat), so the
truth it estimates includes them:

| arm | valid numbers convert | every assigned lead (x 0.9) | true lift vs holdout |
|---|---|---|---|
| holdout (no message) | 3% | 2.7% | - |
| A: 10% off | 6% | 5.4% | +2.7 points |
| B: free delivery | 9% | 8.1% | +5.4 points |
"""),
    ("code", FRESH_STORE.format(db="experiments.db") + '''import datetime as dt

import pandas as pd

def phones(n, start=0):
    areas = ["212", "305", "415", "512", "617", "720"]
    return [f"+1{areas[i % 6]}555{i // 6:04d}" for i in range(start, start + n)]

invalid = set(phones(3000)[::10])  # 300 numbers that cannot receive: Twilio refuses them
sandbox = cs.SandboxGateway(
    seed=5, start=dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC), realtime=False, delivery_rate=1.0,
    baseline_conversion_rate=0.03, error_numbers={p: "invalid_number" for p in invalid},
    rates_by_text={"10% off": {"conversion_rate": 0.06}, "free delivery": {"conversion_rate": 0.09},
                   "gift card": {"conversion_rate": 0.04}, "free gift": {"conversion_rate": 0.14}},
)
client = cs.CampaignClient(f"sqlite:///{DB}", gateway=sandbox)
# this demo sends at any hour; by default marketing arrives 09:00-21:00 in each recipient's zone
client.delivery_policy = cs.DeliveryPolicy(window=None)
pd.set_option("display.precision", 3)'''),
    ("md", """## 1. Plan
How many leads each arm needs to detect a 3-point lift over a 3% baseline, with 80% power. With
three arms (holdout, A, B) each of the two comparisons with the holdout is planned at alpha / 2
(Bonferroni), which keeps the Holm-adjusted p-values of the lift table at 5% overall."""),
    ("code", '''plan = cs.plan_experiment(baseline_rate=0.03, minimum_effect=0.03, power=0.8, alpha=0.05, arms=3)
plan'''),
    ("md", "## 2. Assign\nA third of the leads to each arm; `plan=` makes a send refuse while an arm has fewer leads than the plan needs."),
    ("code", '''campaign = client.create_campaign("Spring offer", content=cs.TwilioTextContext(body="placeholder {{lead_name}} text"))
campaign.set_experiment(
    {"A": cs.TwilioTextContext(body="Hi {{lead_name}}, spring is here: enjoy 10% off your next order this week."),
     "B": cs.TwilioTextContext(body="Hi {{lead_name}}, spring is here: enjoy free delivery on your next order this week.")},
    weights={"A": 0.5, "B": 0.5}, holdout=1 / 3, seed="spring-2026", plan=plan,
)
leads = pd.DataFrame({"phone_number": phones(3000), "lead_name": ["Alex", "Sam", "Kim"] * 1000})
campaign.add_leads(leads, progress=False)
campaign.variants[["variant", "weight", "planned_share", "content_type", "assigned", "preview"]]'''),
    ("code", "campaign  # the HTML repr shows the variants and the holdout"),
    ("md", "Each variant is its own WhatsApp template: both are linted and submitted, and the campaign is approved once every variant is."),
    ("code", '''campaign.submit_for_approval(category="MARKETING", samples={"lead_name": "Alex"})  # the author's samples
while campaign.sync_approval() not in ("approved", "rejected"):
    sandbox.advance(hours=6)
campaign.variants[["variant", "approval_state"]]'''),
    ("md", "## 3. Send\nThe preflight shows the holdout leads as skipped (`holdout`): they are never sent. Twilio refuses the invalid numbers (`failed`)."),
    ("code", '''check = campaign.enable().preflight()
check.to_send, check.skipped, check.problems'''),
    ("code", '''report = campaign.send(progress=False)
report.sent, report.skipped'''),
    ("md", """## 4. Sync and peek every day
Analysts look every day. The `sequential` rows (an always-valid mixture SPRT) stay valid however
often you look; the `fixed` rows are valid for one look at the planned sample size only: looking
daily and stopping at the first p < 0.05 inflates the false-positive rate (a test of this package
measures it at about 25% for 20 looks)."""),
    ("code", '''def record_day():  # the day's statuses, replies and orders (nobody behind an invalid number buys)
    client.sync()
    buyers = [p for p in campaign.leads["phone_number"] if p not in invalid]
    client.record_conversions(sandbox.simulated_conversions(population=buyers))

looks = []
for day in range(1, 5):
    sandbox.advance(days=1)
    record_day()
    lift = campaign.lift(metrics=("conversion_rate",))
    treated = lift[lift["role"] == "treatment"]
    looks.append(treated.pivot(index="arm", columns="test", values="p_holm").add_prefix("p_holm_").assign(day=day))
pd.concat(looks).reset_index().set_index(["day", "arm"])'''),
    ("md", """## 5. The lift table
One row per metric x test x arm: n, events, rate (%), absolute lift in points with its 95% interval,
relative lift (%) with its interval, p-value, Holm-adjusted p-value across the arms, incremental
conversions, and the sample-ratio-mismatch check (chi-square of the assigned counts against the
planned shares; `srm` is True when p < 0.001, a sign of a broken assignment)."""),
    ("code", '''lift = campaign.lift()
lift[lift["metric"] == "conversion_rate"][
    ["test", "arm", "role", "n", "events", "rate", "abs_lift", "abs_lift_low", "abs_lift_high",
     "rel_lift", "rel_lift_low", "rel_lift_high", "p_holm", "significant", "incremental"]
]'''),
    ("md", """Every `lift()` call on new data counts as a look. `looks` says how many there were and `use` marks the
rows valid for that: the fixed-sample ones only at a first look once the plan's sample is reached;
after daily peeking, the sequential ones."""),
    ("code", '''print(lift.attrs["advice"])
lift[lift["use"] & (lift["metric"] == "conversion_rate")][["test", "arm", "abs_lift", "abs_lift_low", "abs_lift_high", "p_holm", "looks"]]'''),
    ("code", '''lift.drop_duplicates("arm")[["arm", "assigned", "planned_share", "srm_p", "srm"]]'''),
    ("md", """Every lead assigned to an arm is in its `n`, whatever happened to its message: refused,
failed, or not sent yet (intention to treat; the definitions are in the README). Counting only the
messages that reached a phone would drop the invalid numbers from A and B but not from the
holdout, whose invalid numbers never buy either: that per-protocol comparison credits the message
with the invalid numbers' absence and overstates the lift (true: +2.7 and +5.4 points)."""),
    ("code", '''fixed = lift[(lift["metric"] == "conversion_rate") & (lift["test"] == "fixed")].set_index("arm")
reached = campaign.metrics(by="variant").set_index("variant")
holdout_rate = fixed.loc["holdout", "rate"]
pd.DataFrame({
    "assigned": fixed["assigned"], "n (every assigned lead)": fixed["n"],
    "messages that reached the phone": reached["messages_sent"].reindex(fixed.index).fillna(0).astype(int),
    "lift (intention to treat)": fixed["abs_lift"],
    "lift if only reached leads counted": (reached["conversion_rate"] - holdout_rate).reindex(fixed.index),
}).drop(index="holdout")'''),
    ("md", "Replies: a holdout cannot reply (it got no message), so reply lift compares B with A."),
    ("code", '''lift[(lift["metric"] == "reply_rate") & (lift["role"] == "treatment")][
    ["test", "arm", "control", "rate", "control_rate", "abs_lift", "abs_lift_low", "abs_lift_high", "p_value", "valid_for"]
]'''),
    ("md", "## 6. Forest plot\nEach arm's lift over the holdout with its interval; the true lifts are +2.7 (A) and +5.4 (B) points."),
    ("code", 'cs.lift_chart(lift, metric="conversion_rate", title="Conversion lift over the holdout")'),
    ("md", """## 7. Test first, then send the winner
A second campaign (true rates: A 4%, B 14%) sends its two variants to 30% of the leads; `send_winner` sends the better one
to the other 70% once the sequential test says it beats the other, and refuses with the numbers
before that."""),
    ("code", '''launch = client.create_campaign("Launch", content=cs.TwilioTextContext(body="placeholder {{lead_name}} text"))
launch.set_experiment(
    {"A": cs.TwilioTextContext(body="Hi {{lead_name}}, our new range is out: a gift card comes with your first pick."),
     "B": cs.TwilioTextContext(body="Hi {{lead_name}}, our new range is out: a free gift comes with your first pick.")},
    test_fraction=0.3, seed="launch-2026",
)
launch.add_leads(pd.DataFrame({"phone_number": phones(4000, start=3000), "lead_name": "Robin"}), progress=False)
launch.submit_for_approval(category="MARKETING", samples={"lead_name": "Robin"})
while launch.sync_approval() not in ("approved", "rejected"):
    sandbox.advance(hours=6)
launch.enable().send(progress=False).skipped'''),
    ("code", '''sandbox.advance(hours=2)
client.sync()
client.record_conversions(sandbox.simulated_conversions())
try:
    launch.send_winner(metric="conversion_rate")
except cs.CampaignStateError as refused:
    print(refused)'''),
    ("code", '''sandbox.advance(days=3)
client.sync()
client.record_conversions(sandbox.simulated_conversions())
report = launch.send_winner(metric="conversion_rate", progress=False)
launch.experiment.winner, report.sent, report.skipped'''),
    ("code", '''sandbox.advance(days=3)
record_day()
client.record_conversions(sandbox.simulated_conversions())
launch.metrics(by="variant")[["variant", "total_leads", "messages_sent", "converted", "conversion_rate"]]'''),
]

DELIVERY = [
    ("md", """
# Delivery: who gets what, and when, person by person

`campaign.plan()` says what a send will do to each lead before anything is sent: whether the
message goes now, is **deferred** (the recipient's quiet hours, a schedule, WhatsApp's messaging
limit) or **skipped** (opted out, a frequency cap, a bad value, an unknown time zone, ...), the
recipient's zone and local arrival time, the rendered message, its SMS segments and its cost.
`campaign.preflight()` is a summary of the same plan. Everything here runs on the **sandbox**
gateway, whose clock stands still unless we move it: nothing is really sent."""),
    ("code", FRESH_STORE.format(db="delivery.db") + '''import datetime as dt

import pandas as pd

# 02:00 UTC on Wednesday 1 July 2026: evening in the Americas, early morning in Europe and Asia
sandbox = cs.SandboxGateway(seed=13, start=dt.datetime(2026, 7, 1, 2, tzinfo=dt.UTC), realtime=False)
client = cs.CampaignClient(f"sqlite:///{DB}", gateway=sandbox)

PREFIXES = {  # a number prefix and how many leads have it
    "+1212555": 60, "+1305555": 40, "+1312555": 50, "+1415555": 70, "+1720555": 30, "+1808555": 10,
    "+4915123": 40, "+4474001": 40, "+336123": 30, "+9198765": 40, "+8190123": 20, "+614123": 30,
}
LENGTH = {"+1": 12, "+49": 14, "+44": 13, "+33": 12, "+91": 13, "+81": 13, "+61": 12}  # E.164 length

def phones():
    out = []
    for prefix, count in PREFIXES.items():
        width = next(n for code, n in LENGTH.items() if prefix.startswith(code)) - len(prefix)
        out += [prefix + str(i).zfill(width) for i in range(count)]
    return out

numbers = phones()
leads = pd.DataFrame({"phone_number": numbers, "lead_name": [f"Friend {i}" for i in range(len(numbers))],
                      "city": (["Lisbon", "São Paulo", "Zürich", "Austin"] * len(numbers))[:len(numbers)],
                      "timezone": ""})
leads.loc[65, "timezone"] = "Europe/Lisbon"     # a person who told us where they live
leads.loc[66, "timezone"] = "Mars/Olympus"      # a typo: the plan says so, for that lead only
leads.loc[67, "lead_name"] = "Ana\\nMaria"       # a line break: WhatsApp refuses it in a value
leads.loc[68, "city"] = ""                       # a missing value: the send would fail (21656)
campaign = client.create_campaign("Summer sale", content=cs.TwilioTextContext(
    body="Hi {{lead_name}}, our summer sale starts today in {{city}}: 20% off everything. Reply STOP to opt out."))
report = campaign.add_leads(leads, progress=False)
report.counts'''),
    ("md", """## An earlier campaign, for the frequency caps
A flash sale reached the first 40 New York leads a few hours ago; with a cap of one marketing
message per person per 24 hours they are skipped (`frequency_cap`)."""),
    ("code", '''earlier = client.create_campaign("Flash sale", content=cs.TwilioTextContext(
    body="Hello {{lead_name}}, our flash sale runs today only, with free delivery."))
earlier.add_leads(leads.head(40)[["phone_number", "lead_name"]], progress=False)
earlier.submit_for_approval(category="MARKETING", samples={"lead_name": "Ana"})
while earlier.sync_approval() not in ("approved", "rejected"):
    sandbox.advance(hours=2)
earlier.set_delivery(cs.DeliveryPolicy(window=None))  # this one sends at once, at any hour
earlier.enable()
earlier.plan()["action"].value_counts()'''),
    ("code", '''earlier.send(progress=False).sent'''),
    ("md", """## The policy and the plan
Marketing only between 09:00 and 21:00 in the recipient's zone (the default), no Sunday sends in
Germany, and at most 1 marketing message per person per 24 h and 3 per 7 days."""),
    ("code", '''policy = cs.DeliveryPolicy(
    countries={"DE": cs.SendWindow(days=["mon", "tue", "wed", "thu", "fri", "sat"])},
    caps=[cs.FrequencyCap(limit=1, per="24h"), cs.FrequencyCap(limit=3, per="7d")],
)
campaign.set_delivery(policy)
plan = campaign.plan()  # at the sandbox's clock: the approval above took it a few hours on
print("now:", sandbox.now().strftime("%a %d %b %H:%M UTC"))
plan[["phone_number", "country", "action", "reason", "zone", "local_send_time", "send_at", "message"]].head(8)'''),
    ("md", """A lead held back has a `reason`, and a `detail` where the reason needs more: which frequency
cap, and when the person is free again."""),
    ("code", '''print(plan.loc[plan["reason"] == "frequency_cap", "detail"].iloc[0])'''),
    ("md", "Totals by action and reason (`summary(by=...)`; the cost comes from the sandbox's labelled price table):"),
    ("code", '''summary = plan.summary()
plan.summary(by=["action", "reason"])[["action", "reason", "leads", "cost"]]'''),
    ("md", "The same totals, per country and local hour of arrival:"),
    ("code", '''live = summary[summary["action"].isin(["send", "defer"])]
live.groupby(["country", "local_hour"])["leads"].sum().unstack(fill_value=0)'''),
    ("md", """## When the messages arrive, in local time
Nothing arrives between 21:00 and 09:00 in its recipient's zone: what is due there now goes now,
the rest at 09:00 local. An Australian mobile number may be in any Australian zone
(`ambiguous`): it may only arrive in the hours allowed in all of them at once, and the plan shows
its local time in the zone where that moment is earliest on the clock."""),
    ("code", 'plan.hour_chart()'),
    ("code", '''plan.loc[plan["ambiguous"] & (plan["country"] == "AU"), ["phone_number", "zones", "zone", "local_send_time"]].head(2)'''),
    ("md", "The preflight is a view of the same plan: the leads sent now, the deferred ones by reason (with the first and the last due moment), the skipped ones by reason."),
    ("code", '''check = campaign.preflight()
print(check)
check.deferred, check.skipped'''),
    ("md", """The plan also warns about what Meta will do to some of these messages, though our own
policy lets them go: since April 2025 Meta has not delivered WhatsApp *marketing* templates to
US numbers (Twilio error 63049). The US leads are sent here because this is the sandbox;
for real, reach them by SMS, or use a template approved as UTILITY if the message is one."""),
    ("code", '''check.warnings'''),
    ("md", """## One recipient at a time
`PlanPreview` shows one lead: its message as WhatsApp shows it, with its own values, its local
arrival time and why it is deferred or skipped. Pick a lead in the dropdown (or type a number).
Below, the widget is driven from code and its view kept as HTML."""),
    ("code", '''from IPython.display import HTML

from campaign_sdk.widgets import PlanPreview

preview = PlanPreview(campaign, plan)
preview.lead_id = int(plan.loc[plan["reason"] == "quiet_hours", "lead_id"].iloc[0])
HTML(preview.html)'''),
    ("code", '''preview.lead_id = int(plan.loc[plan["reason"] == "frequency_cap", "lead_id"].iloc[0])
print(preview.state["action"], "-", preview.state["why"])
HTML(preview.html)'''),
    ("code", '''preview.lead_id = int(plan.loc[plan["reason"] == "value_format", "lead_id"].iloc[0])
HTML(preview.html)'''),
]

NOTEBOOKS = {
    "01_quickstart": QUICKSTART,
    "02_templates": TEMPLATES,
    "03_analytics": ANALYTICS,
    "04_bulk_leads": BULK,
    "05_experiments": EXPERIMENTS,
    "06_delivery": DELIVERY,
}
