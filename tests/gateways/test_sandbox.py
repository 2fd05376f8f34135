"""SandboxGateway: deterministic for a seed, Twilio-like statuses, errors and approvals."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from campaign_sdk import ApprovalState, GatewayError
from campaign_sdk.gateways import REJECTION_MARKER, ContentRequest, Gateway, SandboxGateway, SendRequest

NUMBERS = [f"+1415555{i:04d}" for i in range(300)]
TEXT = ContentRequest(
    "order_update", "twilio/text", {"twilio/text": {"body": "Hi {{1}}, your order {{2}} has shipped."}},
    {"1": "Ana", "2": "A-1"},
)


def _run(sandbox: SandboxGateway, numbers: list[str], *, threads: int = 1) -> dict[str, object]:
    content = sandbox.create_content(TEXT)

    def send(number: str) -> tuple[str, str]:
        return number, sandbox.send_message(SendRequest(number, content, {"1": "Ana", "2": number[-4:]})).sid

    with ThreadPoolExecutor(threads) as pool:
        sids = dict(pool.map(send, numbers))
    sandbox.advance(days=4)
    records = {(r.sid, r.status, r.error_code, r.body, r.direction) for r in sandbox.list_messages()}
    conversions = sandbox.simulated_conversions()
    return {"sids": sids, "records": records, "conversions": sorted(map(tuple, conversions.to_numpy().tolist()))}


def test_same_seed_same_world_whatever_the_order_and_concurrency() -> None:
    shuffled = random.Random(1).sample(NUMBERS, len(NUMBERS))
    first = _run(SandboxGateway(seed=3, realtime=False), NUMBERS)
    second = _run(SandboxGateway(seed=3, realtime=False), shuffled, threads=8)
    assert first["sids"] == second["sids"]
    assert first["records"] == second["records"]
    assert [c[0] for c in first["conversions"]] == [c[0] for c in second["conversions"]]


def test_another_seed_another_world() -> None:
    first = _run(SandboxGateway(seed=3, realtime=False), NUMBERS)
    other = _run(SandboxGateway(seed=4, realtime=False), NUMBERS)
    assert first["sids"] != other["sids"]
    assert first["records"] != other["records"]


def test_statuses_progress_over_simulated_time() -> None:
    sandbox = SandboxGateway(seed=1, delivery_rate=1.0, read_rate=1.0, reply_rate=0, opt_out_rate=0, realtime=False)
    content = sandbox.create_content(TEXT)
    sent = sandbox.send_message(SendRequest("+14155550100", content, {"1": "Ana", "2": "A-1"}))
    assert sent.status == "accepted" and sent.sid.startswith("SM") and len(sent.sid) == 34

    def status() -> str:
        [record] = sandbox.list_messages(to="+14155550100")
        return record.status

    seen = [status()]
    for _ in range(12):
        sandbox.advance(seconds=1)
        seen.append(status())
    sandbox.advance(hours=3)
    seen.append(status())
    assert seen[0] == "accepted" and seen[-1] == "read"
    order = ["accepted", "sent", "delivered", "read"]
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)
    assert "sent" in seen and "delivered" in seen


def test_rates_shape_the_outcomes() -> None:
    failing = SandboxGateway(seed=2, delivery_rate=0.0, failure_codes={63024: 1.0}, realtime=False)
    outcome = _run(failing, NUMBERS[:50])
    assert {(status, code) for _, status, code, _, d in outcome["records"] if d != "inbound"} == {("failed", 63024)}
    delivered = SandboxGateway(seed=2, delivery_rate=1.0, reply_rate=1.0, opt_out_rate=0.0, realtime=False)
    outcome = _run(delivered, NUMBERS[:50])
    assert sum(d == "inbound" for *_, d in outcome["records"]) == 50
    assert {s for _, s, _, _, d in outcome["records"] if d != "inbound"} <= {"delivered", "read"}


def test_a_typical_sandbox_has_a_realistic_mix() -> None:
    records = _run(SandboxGateway(seed=0, realtime=False), NUMBERS)["records"]
    outbound = [r for r in records if r[4] != "inbound"]
    delivered = sum(r[1] in ("delivered", "read") for r in outbound)
    assert 0.85 * len(outbound) < delivered < len(outbound)
    assert any(r[4] == "inbound" and r[3] == "STOP" for r in records)
    assert any(r[4] == "inbound" and r[3] != "STOP" for r in records)


def test_magic_numbers_and_configured_errors_are_refused_by_the_api() -> None:
    sandbox = SandboxGateway(
        seed=0, error_numbers={"+14155550123": 63024, "+14155550124": "invalid_number"}, realtime=False
    )
    content = sandbox.create_content(TEXT)
    cases = [("+15005550001", "invalid_number", 21211), ("+15005550004", "opted_out", 21610),
             ("+15005550009", "invalid_number", 21614), ("+14155550123", "invalid_number", 63024),
             ("+14155550124", "invalid_number", None)]  # a kind alone: no Twilio code needed
    for number, kind, code in cases:
        with pytest.raises(GatewayError) as raised:
            sandbox.send_message(SendRequest(number, content, {"1": "a", "2": "b"}))
        assert (raised.value.kind, raised.value.code, raised.value.per_lead) == (kind, code, True)
    with pytest.raises(GatewayError) as raised:
        sandbox.send_message(SendRequest("+14155550100", content, {"1": "a", "2": " "}))
    assert (raised.value.kind, raised.value.code) == ("content", None)
    assert list(sandbox.list_messages()) == []


def test_an_error_number_must_name_a_kind_or_a_code() -> None:
    with pytest.raises(ValueError, match="error kinds .* not invalid_numbr"):
        SandboxGateway(error_numbers={"+14155550123": "invalid_numbr"})


def test_stop_reply_blocks_later_sends_as_opted_out() -> None:
    sandbox = SandboxGateway(seed=5, delivery_rate=1.0, opt_out_rate=1.0, realtime=False)
    content = sandbox.create_content(TEXT)
    sandbox.send_message(SendRequest("+14155550100", content, {"1": "a", "2": "b"}))
    sandbox.advance(days=1)
    [stop] = [r for r in sandbox.list_messages() if r.inbound]
    assert (stop.body, stop.from_) == ("STOP", "+14155550100")
    with pytest.raises(GatewayError) as raised:
        sandbox.send_message(SendRequest("+14155550100", content, {"1": "a", "2": "b"}))
    assert (raised.value.kind, raised.value.code) == ("opted_out", None)
    sandbox.receive("+14155550100", "START")
    assert sandbox.send_message(SendRequest("+14155550100", content, {"1": "a", "2": "b"})).sid


def test_approval_goes_received_pending_then_approved() -> None:
    sandbox = SandboxGateway(seed=0, realtime=False)
    content = sandbox.create_content(TEXT)
    assert sandbox.fetch_approval(content).state is ApprovalState.UNSUBMITTED
    assert sandbox.submit_approval(content, name="order_update", category="UTILITY").state is ApprovalState.RECEIVED
    states = []
    for _ in range(40):
        states.append(sandbox.fetch_approval(content).state)
        sandbox.advance(hours=1)
    assert states[0] is ApprovalState.RECEIVED
    assert ApprovalState.PENDING in states and states[-1] is ApprovalState.APPROVED
    assert states == sorted(states, key=[ApprovalState.RECEIVED, ApprovalState.PENDING, ApprovalState.APPROVED].index)


def test_approval_timing_is_deterministic() -> None:
    def decided_after(seed: int) -> int:
        sandbox = SandboxGateway(seed=seed, realtime=False)
        content = sandbox.create_content(TEXT)
        sandbox.submit_approval(content, name="order_update", category="UTILITY")
        hours = 0
        while sandbox.fetch_approval(content).state is not ApprovalState.APPROVED:
            sandbox.advance(hours=1)
            hours += 1
        return hours

    assert decided_after(11) == decided_after(11)


@pytest.mark.parametrize(
    ("body", "samples", "reason"),
    [
        # (a variable at the start with a sample is only a warning since session 4: a wa.me link is an error)
        ("Hi {{1}}, ask about order {{2}} at wa.me/14155550100 today.", {"1": "a", "2": "b"}, "wa.me"),
        (f"Hi {{{{1}}}}, your order {{{{2}}}} shipped {REJECTION_MARKER}", {"1": "a", "2": "b"}, "rejection marker"),
    ],
)
def test_templates_whatsapp_would_refuse_are_rejected_with_a_reason(
    body: str, samples: dict[str, str], reason: str
) -> None:
    sandbox = SandboxGateway(seed=0, realtime=False)
    request = ContentRequest("t", "twilio/text", {"twilio/text": {"body": body}}, samples)
    content = sandbox.create_content(request)
    sandbox.submit_approval(content, name="t", category="MARKETING")
    sandbox.advance(days=2)
    result = sandbox.fetch_approval(content)
    assert result.state is ApprovalState.REJECTED
    assert reason in (result.reason or "")


def test_paused_and_disabled_can_be_forced() -> None:
    sandbox = SandboxGateway(seed=0, realtime=False)
    content = sandbox.create_content(TEXT)
    sandbox.submit_approval(content, name="order_update", category="UTILITY")
    sandbox.set_approval(content, "paused")
    assert sandbox.fetch_approval(content).state is ApprovalState.PAUSED


def test_approval_requests_follow_twilio_rules() -> None:
    sandbox = SandboxGateway(seed=0, realtime=False)
    content = sandbox.create_content(TEXT)
    with pytest.raises(GatewayError, match="lowercase"):
        sandbox.submit_approval(content, name="Order Update", category="UTILITY")
    with pytest.raises(GatewayError, match="category"):
        sandbox.submit_approval(content, name="order_update", category="PROMO")
    sandbox.submit_approval(content, name="order_update", category="UTILITY")
    with pytest.raises(GatewayError, match="already submitted"):
        sandbox.submit_approval(sandbox.create_content(TEXT), name="order_update", category="UTILITY")
    with pytest.raises(GatewayError) as raised:
        sandbox.fetch_approval("HX" + "0" * 32)
    assert (raised.value.kind, raised.value.status, raised.value.code) == ("request", 404, None)


def test_clock_only_moves_forward_and_follows_real_time() -> None:
    frozen = SandboxGateway(realtime=False)
    assert frozen.now() == frozen.now()
    with pytest.raises(ValueError):
        frozen.advance(seconds=-1)
    live = SandboxGateway()
    assert live.now() < live.now()


def test_it_is_clearly_a_simulator_and_a_gateway() -> None:
    sandbox = SandboxGateway(seed=9)
    assert sandbox.simulated is True
    assert "simulator" in repr(sandbox) and "nothing is really sent" in repr(sandbox)
    assert isinstance(sandbox, Gateway)
    with pytest.raises(ValueError, match="delivery_rate"):
        SandboxGateway(delivery_rate=1.5)


def test_sandbox_simulates_each_arm_and_a_baseline_for_people_not_messaged() -> None:
    """rates_by_text gives a template containing a text its own true rates; people the sandbox
    never messaged convert at baseline_conversion_rate (simulated_conversions(population=))."""
    import datetime as _dt

    sandbox = SandboxGateway(seed=3, realtime=False, delivery_rate=1.0, conversion_rate=0.0,
                             rates_by_text={"free delivery": {"conversion_rate": 1.0}}, baseline_conversion_rate=0.5)
    plain = sandbox.create_content(ContentRequest("plain", "twilio/text", {"twilio/text": {"body": "Hi {{1}}, 10% off"}}))
    free = sandbox.create_content(ContentRequest("free", "twilio/text", {"twilio/text": {"body": "Hi {{1}}, free delivery"}}))
    for i in range(20):
        sandbox.send_message(SendRequest(f"+1415555{i:04d}", plain if i < 10 else free, {"1": "Ana"}))
    sandbox.advance(days=4)
    others = [f"+1415556{i:04d}" for i in range(400)]
    frame = sandbox.simulated_conversions(population=[f"+1415555{i:04d}" for i in range(20)] + others)
    converted = set(frame["phone_number"])
    assert {f"+1415555{i:04d}" for i in range(10, 20)} <= converted  # the free-delivery arm: rate 1
    assert not {f"+1415555{i:04d}" for i in range(10)} & converted  # messaged people get no baseline
    organic = len(converted & set(others)) / len(others)
    assert 0.4 < organic < 0.6
    assert frame["occurred_at"].min() > sandbox.now() - _dt.timedelta(days=4, seconds=1)
    assert frame.equals(sandbox.simulated_conversions(population=[f"+1415555{i:04d}" for i in range(20)] + others))
    with pytest.raises(ValueError, match="baseline_conversion_rate"):
        SandboxGateway(baseline_conversion_rate=1.5)
