"""The simulator's own switches (the contract suite covers what both gateways share)."""

from __future__ import annotations

import datetime as dt

import pytest

from campaign_sdk.facts.errors import Code
from campaign_sdk.simulator import Clock, SimError, Simulator, World

SERVICE = "MG" + "1" * 32
START = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)


def _scripted(**options) -> Simulator:
    return Simulator(3, clock=Clock(START, realtime=False), **options)


def _text(sim: Simulator) -> str:
    return sim.create_content({"twilio/text": {"body": "Hi {{1}}"}}, variables={"1": "a"}).sid


def test_scripted_messages_stay_until_told_and_expire_past_their_validity() -> None:
    sim = _scripted()
    content = _text(sim)
    waiting = sim.send("+14155550100", channel="whatsapp", service=SERVICE, content_sid=content,
                       variables={"1": "a"}, validity_period=60)
    moved = sim.send("+14155550101", channel="whatsapp", service=SERVICE, content_sid=content,
                     variables={"1": "a"}, validity_period=60)
    sim.clock.advance(seconds=30)
    sim.set_status(moved.sid, "delivered")
    assert (sim.fetch(waiting.sid).status, sim.fetch(waiting.sid).error_code) == ("accepted", None)
    sim.clock.advance(seconds=31)
    assert (sim.fetch(waiting.sid).status, sim.fetch(waiting.sid).error_code) == ("failed", Code.VALIDITY_EXPIRED)
    assert sim.fetch(moved.sid).status == "delivered"  # it left the queue in time


def test_a_message_without_a_messaging_service_starts_queued() -> None:
    sim = _scripted()
    sent = sim.send("+14155550100", channel="sms", from_="+15005550006", body="hello")
    assert (sent.status, sent.to, sent.from_) == ("queued", "+14155550100", "+15005550006")


def test_strict_templates_count_only_approved_content_as_a_template() -> None:
    sim = _scripted(strict_templates=True)
    content = _text(sim)
    early = sim.send("+14155550100", channel="whatsapp", service=SERVICE, content_sid=content, variables={"1": "a"})
    sim.submit_approval(content, name="t_one", category="UTILITY")
    sim.force_approval(content, "approved")
    later = sim.send("+14155550101", channel="whatsapp", service=SERVICE, content_sid=content, variables={"1": "a"})
    sms = sim.send("+14155550102", channel="sms", service=SERVICE, body="no window on SMS")
    sim.clock.advance(seconds=5)
    assert sim.fetch(early.sid).error_code == Code.OUTSIDE_WINDOW
    assert sim.fetch(later.sid).status == "accepted" and sim.fetch(sms.sid).status == "accepted"


def test_a_free_form_body_needs_a_recent_inbound_message() -> None:
    sim = _scripted()
    sim.inbound("whatsapp:+14155550100", "hi")
    sim.clock.advance(hours=23)
    inside = sim.send("+14155550100", channel="whatsapp", service=SERVICE, body="reply")
    sim.clock.advance(hours=2)
    outside = sim.send("+14155550100", channel="whatsapp", service=SERVICE, body="too late")
    sim.clock.advance(seconds=5)
    assert sim.fetch(inside.sid).error_code is None
    assert (sim.fetch(outside.sid).status, sim.fetch(outside.sid).error_code) == ("failed", Code.OUTSIDE_WINDOW)


def test_unknown_content_is_refused_only_when_strict() -> None:
    unknown = "HX" + "9" * 32
    with pytest.raises(SimError) as raised:
        _scripted().send("+14155550100", channel="whatsapp", service=SERVICE, content_sid=unknown)
    assert (raised.value.kind, raised.value.wire_code, raised.value.code) == ("request", Code.CONTENT_SID_INVALID, None)
    sent = _scripted(strict_content=False).send("+14155550100", channel="whatsapp", service=SERVICE,
                                                content_sid=unknown)
    assert sent.body is None


def test_a_canceled_message_never_replies_or_converts() -> None:
    world = World(delivery_rate=1.0, reply_rate=1.0, opt_out_rate=0.0, conversion_rate=1.0)
    sim = Simulator(4, world=world, clock=Clock(START, realtime=False))
    content = _text(sim)
    kept = sim.send("+14155550100", channel="whatsapp", service=SERVICE, content_sid=content,
                    variables={"1": "a"}, send_at=START + dt.timedelta(hours=1))
    canceled = sim.send("+14155550101", channel="whatsapp", service=SERVICE, content_sid=content,
                        variables={"1": "a"}, send_at=START + dt.timedelta(hours=1))
    sim.cancel(canceled.sid)
    sim.clock.advance(days=5)
    assert {r.from_ for r in sim.records() if r.inbound} == {kept.to}
    assert [row["phone_number"] for row in sim.conversions()] == ["+14155550100"]
    assert sim.fetch(canceled.sid).status == "canceled"


def test_a_scripted_account_draws_no_conversions_and_reviews_nothing() -> None:
    sim = _scripted()
    content = _text(sim)
    sim.submit_approval(content, name="t_two", category="MARKETING")
    sim.clock.advance(days=30)
    assert sim.approval(content).status == "received"
    assert sim.conversions(population=["+14155550100"]) == []
