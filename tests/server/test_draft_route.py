"""POST /templates/validate answers with the schemas' draft check, the Template Studio's own, for
any draft; a bug in that check is a 500, never swallowed into a valid-looking answer."""

from __future__ import annotations

from campaign_sdk.schemas import _draft


def test_a_draft_with_actions_that_are_no_list_gets_the_whole_check(api) -> None:
    draft = {"body": "Hi {{lead_name}}", "actions": 5}
    got = api.post("/templates/validate", json={"content_type": "twilio/quick-reply", "content_context": draft})
    assert got.status_code == 200
    body = got.json()
    want = _draft.check_draft("twilio/quick-reply", draft)
    assert not body["valid"] and [(e["field"], e["rule"]) for e in body["errors"]] == [("actions", "wrong_type")]
    assert [(e["field"], e["rule"]) for e in body["errors"]] == [(i.field, i.rule) for i in want.errors]
    assert body["counters"] == {"body": {"characters": 16, "limit": 1024}}
    assert [v["name"] for v in body["variables"]] == ["lead_name"]


def test_a_bug_inside_the_draft_check_is_a_server_error(api, monkeypatch) -> None:
    def broken(*_args: object) -> dict:
        raise TypeError("a bug in the counters")

    monkeypatch.setattr(_draft, "counters", broken)
    draft = {"body": "", "actions": []}  # a draft with errors: the old route swallowed the bug here
    got = api.post("/templates/validate", json={"content_type": "twilio/quick-reply", "content_context": draft},
                   headers={"Connection": "close"})  # uvicorn drops the connection after an unhandled error
    assert got.status_code == 500
    monkeypatch.undo()
    fixed = api.post("/templates/validate", json={"content_type": "twilio/quick-reply", "content_context": draft})
    assert fixed.status_code == 200 and not fixed.json()["valid"]
