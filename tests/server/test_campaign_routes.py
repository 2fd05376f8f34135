"""Campaign, lead, template and metric routes over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from campaign_sdk.schemas import CampaignLeadUser
from campaign_sdk.server._models import LeadItem

from .conftest import unique

ANA = "+14155552671"
BEN = "+14155552672"
CARA = "+442079460958"


def create(api, name: str | None = None, **body) -> dict:
    payload = {"name": name or unique(), "template": "order_confirmation"} | body
    response = api.post("/campaigns", json=payload)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_get_and_the_seeds_schema(api) -> None:
    made = create(api, campaign_type="service")
    assert made["status"] == "unsubmitted" and made["campaign_type"] == "service"
    assert made["context_variables"] == ["lead_name", "order_id"] and made["leads"] is None
    got = api.get(f"/campaigns/{made['id']}").json()
    assert got == made
    raw = create(api, template=None, content_type="twilio/text", content_context={"body": "Hi {{lead_name}}!"})
    assert raw["content_type"] == "twilio/text" and raw["body"] == "Hi {{lead_name}}!"


def test_create_refuses_bad_templates_with_every_issue_and_writes_nothing(api) -> None:
    before = api.get("/campaigns", params={"limit": 1}).json()["total"]
    context = {"body": "", "actions": [{"type": "QUICK_REPLY", "title": "x" * 30, "id": "a"}]}
    response = api.post("/campaigns", json={"name": unique(), "content_type": "twilio/quick-reply",
                                            "content_context": context})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "TemplateValidationError"
    assert {"min_length", "max_length"} <= {issue["rule"] for issue in body["issues"]}
    assert api.get("/campaigns", params={"limit": 1}).json()["total"] == before


def test_duplicate_names_conflict_and_unknown_ids_are_404(api) -> None:
    made = create(api)
    clash = api.post("/campaigns", json={"name": made["name"], "template": "welcome_offer"})
    assert clash.status_code == 409 and "already exists" in clash.json()["detail"]
    missing = api.get("/campaigns/999999")
    assert missing.status_code == 404 and missing.json()["error"] == "CampaignNotFoundError"


def test_list_filters_and_pages(api) -> None:
    tag = unique("page")
    ids = [create(api, f"{tag} {i}", campaign_type="service" if i % 2 else "marketing")["id"] for i in range(5)]
    api.post(f"/campaigns/{ids[0]}/submit-for-approval", json={"category": "UTILITY"})
    everything = api.get("/campaigns", params={"limit": 500}).json()
    assert [c["id"] for c in everything["items"] if c["name"].startswith(tag)] == ids
    service = api.get("/campaigns", params={"campaign_type": "service", "limit": 500}).json()
    assert {c["campaign_type"] for c in service["items"]} == {"service"}
    assert {ids[1], ids[3]} <= {c["id"] for c in service["items"]}
    pending = api.get("/campaigns", params={"status": "pending"}).json()
    assert ids[0] in [c["id"] for c in pending["items"]] and {c["status"] for c in pending["items"]} == {"pending"}
    first, second = (api.get("/campaigns", params={"limit": 2, "offset": o}).json() for o in (0, 2))
    assert first["total"] == second["total"] == everything["total"]
    assert [c["id"] for c in first["items"] + second["items"]] == [c["id"] for c in everything["items"][:4]]
    bad = api.get("/campaigns", params={"status": "sleeping"})
    assert bad.status_code == 422 and bad.json()["issues"][0]["field"] == "query.status"


def test_update_rules_come_from_the_service(api) -> None:
    made = create(api)
    renamed = api.patch(f"/campaigns/{made['id']}", json={"name": made["name"] + " v2"})
    assert renamed.status_code == 200 and renamed.json()["name"] == made["name"] + " v2"
    text = "Hello {{lead_name}}, thank you for shopping with us this week."
    new_body = {"content_type": "twilio/text", "content_context": {"body": text}}
    changed = api.patch(f"/campaigns/{made['id']}", json=new_body)
    assert changed.json()["body"] == text
    alone = api.patch(f"/campaigns/{made['id']}", json={"content_type": "twilio/text"})
    assert alone.status_code == 422 and "content_context" in alone.json()["detail"]
    submitted = api.post(f"/campaigns/{made['id']}/submit-for-approval", json={"category": "UTILITY"})
    assert submitted.status_code == 200, submitted.text
    frozen = api.patch(f"/campaigns/{made['id']}", json=new_body)
    assert frozen.status_code == 409 and "cannot be edited" in frozen.json()["detail"]


def test_delete(api) -> None:
    made = create(api)
    assert api.delete(f"/campaigns/{made['id']}").status_code == 204
    assert api.get(f"/campaigns/{made['id']}").status_code == 404
    assert api.delete(f"/campaigns/{made['id']}").status_code == 404


def test_add_leads_reports_every_item_and_reloads_change_nothing(api) -> None:
    made = create(api)
    items = [
        {"phone_number": ANA, "custom_variables": {"lead_name": "Ana", "order_id": "1"}},
        {"phone_number": "not a number", "custom_variables": {"lead_name": "X"}},
        {"phone_number": BEN, "custom_variables": {"lead_name": "Ben"}},
        {"phone_number": ANA, "conversation_user_id": 5},
        {"conversation_user_id": 2_000_000_000},
        {"phone_number": "whatsapp:" + CARA, "custom_variables": {"lead_name": "Cara", "order_id": "3"}},
    ]
    report = api.post(f"/campaigns/{made['id']}/add-leads", json=items).json()
    assert (report["total_rows"], report["inserted"], report["updated"], report["unchanged"]) == (6, 3, 0, 0)
    reasons = {r["row"]: (r["column"], r["reason"]) for r in report["rejected"]}
    assert reasons == {
        1: ("phone_number", "no_region"), 3: ("phone_number", "one_identity"),
        4: ("conversation_user_id", "unknown_user"),
    }
    assert [(m["row"], m["missing"]) for m in report["missing_variables"]] == [(2, ["order_id"])]
    again = api.post(f"/campaigns/{made['id']}/add-leads", json=items).json()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 3)
    items[2]["custom_variables"]["order_id"] = "2"
    changed = api.post(f"/campaigns/{made['id']}/add-leads", json=items).json()
    assert (changed["inserted"], changed["updated"], changed["unchanged"]) == (0, 1, 2)
    strict = api.post(f"/campaigns/{made['id']}/add-leads", params={"strict": "true"},
                      json=[{"phone_number": "+14155552673", "custom_variables": {"lead_name": "D"}}]).json()
    assert strict["inserted"] == 0 and strict["rejected"][0]["reason"] == "missing_variables"


def test_add_leads_lists_leads_whose_timezone_is_no_iana_zone(api) -> None:
    made = create(api)
    items = [
        {"phone_number": "bad", "custom_variables": {"lead_name": "X", "order_id": "0"}},  # rejected: no region
        {"phone_number": ANA, "custom_variables": {"lead_name": "Ana", "order_id": "1", "timezone": "Mars/Base"}},
        {"phone_number": BEN, "custom_variables": {"lead_name": "Ben", "order_id": "2", "timezone": "Europe/Lisbon"}},
    ]
    report = api.post(f"/campaigns/{made['id']}/add-leads", json=items).json()
    assert report["inserted"] == 2  # kept: plan() skips Ana until her timezone is fixed
    assert report["invalid_timezones"] == [{"row": 1, "phone_number": ANA, "value": "Mars/Base", "suggestion": None}]


def test_add_leads_refuses_a_malformed_body_whole(api, server) -> None:
    made = create(api)
    bad = [{"phone_number": ANA}, {"phone_number": BEN, "custom_variables": {"n": 5}}, {"extra": 1}]
    response = api.post(f"/campaigns/{made['id']}/add-leads", json=bad)
    assert response.status_code == 422
    fields = {issue["field"] for issue in response.json()["issues"]}
    assert {"body.1.custom_variables.n", "body.2.extra"} <= fields
    assert api.get(f"/campaigns/{made['id']}/leads").json()["total"] == 0


def test_lead_item_publishes_the_shape_of_campaign_lead_user() -> None:
    ours = LeadItem.model_json_schema()["properties"]
    seed = CampaignLeadUser.model_json_schema()["properties"]
    ours["conversation_user_id"]["anyOf"][0].pop("maximum")  # the store's id range, on top
    assert ours == seed


def test_leads_listing_pages_filters_and_remove(api) -> None:
    made = create(api)
    phones = [f"+1415555{n:04d}" for n in range(2700, 2707)]
    items = [{"phone_number": p, "custom_variables": {"lead_name": "L", "order_id": str(i)}}
             for i, p in enumerate(phones)]
    assert api.post(f"/campaigns/{made['id']}/add-leads", json=items).json()["inserted"] == 7
    page = api.get(f"/campaigns/{made['id']}/leads", params={"limit": 3, "offset": 3}).json()
    assert page["total"] == 7 and [lead["phone_number"] for lead in page["items"]] == phones[3:6]
    assert api.get(f"/campaigns/{made['id']}/leads", params={"status": "sent"}).json()["total"] == 0
    assert api.get(f"/campaigns/{made['id']}/leads", params={"status": "pending"}).json()["total"] == 7
    removed = api.post(f"/campaigns/{made['id']}/remove-leads",
                       json={"phone_numbers": ["(415) 555-2700", phones[1]], "default_region": "US"})
    assert removed.json() == {"removed": 2}
    again = api.post(f"/campaigns/{made['id']}/remove-leads", json={"phone_numbers": [phones[1]]})
    assert again.json() == {"removed": 0}
    assert api.get(f"/campaigns/{made['id']}/leads").json()["total"] == 5
    bad = api.post(f"/campaigns/{made['id']}/remove-leads", json={"phone_numbers": ["nope"]})
    assert bad.status_code == 422 and "nope" in bad.json()["detail"]
    with_leads = api.get(f"/campaigns/{made['id']}", params={"include_leads": "true"}).json()
    assert with_leads["total_leads"] == 5 and len(with_leads["leads"]) == 5


def test_lifecycle_enable_disable(api, server) -> None:
    made = create(api)
    refused = api.post(f"/campaigns/{made['id']}/enable")
    assert refused.status_code == 409 and "approved" in refused.json()["detail"]
    bad_category = api.post(f"/campaigns/{made['id']}/submit-for-approval", json={"category": "PROMO"})
    assert bad_category.status_code == 422
    submitted = api.post(f"/campaigns/{made['id']}/submit-for-approval", json={"category": "UTILITY"})
    assert submitted.json()["status"] == "pending"
    server.client.campaign(made["id"]).set_approval_status("approved")
    enabled = api.post(f"/campaigns/{made['id']}/enable").json()
    assert enabled["enabled"] is not None
    def enabled_ids() -> set[int]:
        return {c["id"] for c in api.get("/campaigns", params={"enabled": "true", "limit": 500}).json()["items"]}

    assert made["id"] in enabled_ids()
    assert api.post(f"/campaigns/{made['id']}/disable").json()["enabled"] is None
    assert made["id"] not in enabled_ids()


def test_submit_refuses_whatsapp_lint_failures_with_every_reason(api) -> None:
    made = create(api, template=None, content_type="twilio/text", content_context={"body": "{{a}} {{b}}"})
    response = api.post(f"/campaigns/{made['id']}/submit-for-approval", json={"category": "MARKETING"})
    assert response.status_code == 422
    assert {"wa_variable_at_start", "wa_variable_at_end"} <= {i["rule"] for i in response.json()["issues"]}
    assert api.get(f"/campaigns/{made['id']}").json()["status"] == "unsubmitted"


def test_metrics_match_the_client(api, server) -> None:
    made = create(api)
    api.post(f"/campaigns/{made['id']}/add-leads", json=[{"phone_number": ANA, "custom_variables": {"lead_name": "A"}}])
    wide = api.get(f"/campaigns/{made['id']}/metrics").json()
    expected = server.client.campaign(made["id"]).metrics()
    assert len(wide) == 1 and wide[0]["total_leads"] == int(expected["total_leads"][0]) == 1
    assert wide[0]["reply_rate"] is None  # no message sent: the rate is missing, not 0
    long = api.get(f"/campaigns/{made['id']}/metrics", params={"shape": "long", "reply_window": "36h"}).json()
    assert {row["metric"] for row in long} >= {"total_leads", "reply_rate", "conversion_rate"}
    everything = api.get("/metrics", params=[("campaigns", made["id"])]).json()
    assert [row["campaign_id"] for row in everything] == [made["id"]]
    bad = api.get("/metrics", params={"reply_window": "a week"})
    assert bad.status_code == 422 and "7d" in bad.json()["detail"]
    by_type = api.get("/metrics", params={"by": "campaign_type", "campaigns": made["id"]}).json()
    assert [(row["campaign_id"], row["campaign_type"]) for row in by_type] == [(made["id"], "marketing")]
    later = api.get(f"/campaigns/{made['id']}/metrics", params={"start": "2030-01-01T00:00:00Z"}).json()
    expected_later = server.client.campaign(made["id"]).metrics(start="2030-01-01T00:00:00Z")
    assert [row["total_leads"] for row in later] == expected_later["total_leads"].tolist()


def test_default_templates_and_draft_validation(api) -> None:
    templates = api.get("/templates").json()
    by_key = {t["key"]: t for t in templates}
    assert by_key["order_confirmation"]["context_variables"] == ["lead_name", "order_id"]
    good = api.post("/templates/validate", json={
        "content_type": "twilio/text", "content_context": {"body": "Hi {{lead_name}}, see you soon."},
        "samples": {"lead_name": "Ana"}}).json()
    assert good["valid"] and good["errors"] == [] and good["counters"]["body"]["limit"] == 1600
    assert [v["name"] for v in good["variables"]] == ["lead_name"]
    bad = api.post("/templates/validate", json={
        "content_type": "twilio/quick-reply", "content_context": {"body": "{{1}} and {{3}}", "actions": []}}).json()
    assert not bad["valid"] and bad["errors"]
    warned = api.post("/templates/validate", json={
        "content_type": "twilio/text", "content_context": {"body": "{{lead_name}} hi"}}).json()
    assert warned["valid"] and "wa_variable_at_start" in {w["rule"] for w in warned["warnings"]}
    unknown = api.post("/templates/validate", json={"content_type": "twilio/fax", "content_context": "{}"}).json()
    assert [e["rule"] for e in unknown["errors"]] == ["unknown_content_type"]
    broken = api.post("/templates/validate", json={"content_type": "twilio/text", "content_context": "{"}).json()
    assert [e["rule"] for e in broken["errors"]] == ["invalid_json"]


@pytest.mark.parametrize("draft_type", ["twilio/media", "twilio/card"])
def test_draft_validation_equals_the_widget(api, draft_type) -> None:
    from campaign_sdk.schemas._draft import check_draft

    context = {"title": "T {{x}}", "body": "", "media": ["ftp://nope"], "actions": [{"type": "URL"}]}
    got = api.post("/templates/validate", json={"content_type": draft_type, "content_context": context}).json()
    want = check_draft(draft_type, context)
    assert [(e["field"], e["rule"]) for e in got["errors"]] == [(i.field, i.rule) for i in want.errors]


def test_unknown_or_repeated_query_parameters_are_refused(api) -> None:
    typo = api.get("/campaigns", params={"staus": "pending"})
    assert typo.status_code == 422 and typo.json()["issues"][0]["field"] == "query.staus"
    twice = api.get("/campaigns", params=[("offset", "x"), ("offset", "1")])
    assert twice.status_code == 422 and twice.json()["issues"][0]["rule"] == "repeated"
    made = create(api)
    several = api.get("/metrics", params=[("campaigns", made["id"]), ("campaigns", made["id"])])
    assert several.status_code == 200


def test_a_campaign_is_created_in_a_whatsapp_language(api) -> None:
    made = api.post("/campaigns", json={"name": "Lang pt", "template": "order_confirmation", "language": "pt_BR"})
    assert made.status_code == 201 and made.json()["language"] == "pt_BR"
    refused = api.post("/campaigns", json={"name": "Lang bad", "template": "order_confirmation", "language": "pt-BR"})
    assert refused.status_code == 422 and "pt_BR" in refused.text
