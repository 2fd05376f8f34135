"""One GatewayError with a kind: Twilio's answers (both exception classes) mapped through facts/errors.py,
and a gateway that is not Twilio needs no Twilio code at all."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pandas as pd
import pytest
import sqlalchemy as sa

from campaign_sdk import DeliveryPolicy, CampaignClient, GatewayError
from campaign_sdk.facts import errors
from campaign_sdk.facts.errors import ERRORS, KINDS, Code, ErrorKind
from campaign_sdk.gateways import MessageRecord, SandboxGateway, SendRequest, SentMessage
from campaign_sdk.models import ConversationUser, OutboundMessage


def _send(gateway, server, to: str = "+14155552671") -> None:
    sid = server.add_content("Hi {{1}}, all good here.")
    gateway.send_message(SendRequest(to, sid, {"1": "x"}))


@pytest.mark.parametrize("problem", [False, True], ids=["TwilioRestException", "TwilioServiceException"])
@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [(400, 21211, "invalid_number"), (400, 21610, "opted_out"), (400, 63024, "invalid_number"),
     (400, 21656, "content"), (400, 63016, "window"), (400, 63049, "policy"), (401, 20003, "auth"),
     (400, 21606, "sender"), (400, 21655, "request"), (400, 21703, "unknown"), (503, None, "server"),
     (500, 20500, "server")],
)
def test_both_twilio_exception_classes_map_to_one_kind(gateway, twilio_server, problem, status, code, kind) -> None:
    twilio_server.fail("error" if status < 500 else "server_error", status=status, code=code, problem=problem)
    with pytest.raises(GatewayError) as raised:
        _send(gateway, twilio_server)
    error = raised.value
    assert (error.kind, error.status) == (kind, status)
    assert error.code == (code if code is not None or not problem else status)  # RFC 9457 bodies always carry one
    assert f"({kind})" in str(error)


@pytest.mark.parametrize("problem", [False, True])
def test_throttling_is_rate_limited_and_a_dropped_connection_is_server(gateway, twilio_server, problem) -> None:
    twilio_server.fail("throttle", problem=problem)
    with pytest.raises(GatewayError) as raised:
        _send(gateway, twilio_server)
    assert (raised.value.kind, raised.value.status, raised.value.code) == ("rate_limited", 429, 20429)
    twilio_server.fail("drop")
    with pytest.raises(GatewayError) as raised:
        _send(gateway, twilio_server)
    assert (raised.value.kind, raised.value.status, raised.value.code) == ("server", None, None)


def test_every_row_of_the_table_is_sourced_and_consistent() -> None:
    assert len(ERRORS) >= 25
    for code, fact in ERRORS.items():
        assert fact.code == code and fact.meaning
        assert fact.source == f"https://www.twilio.com/docs/api/errors/{code}"
        assert fact.invalid_number is (fact.kind is ErrorKind.INVALID_NUMBER)
        assert fact.opt_out is (fact.kind is ErrorKind.OPTED_OUT)
        assert fact.retryable is KINDS[fact.kind].retryable
    assert {int(c) for c in Code} == set(ERRORS)
    assert set(KINDS) == set(ErrorKind)
    assert errors.codes_of(ErrorKind.INVALID_NUMBER) == {21211, 21614, 63024}
    assert errors.codes_of(ErrorKind.OPTED_OUT) == {21610}
    assert [f.code for f in ERRORS.values() if f.retryable] == [20429, 63018]


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [(None, 429, "rate_limited"), (None, 500, "server"), (None, 599, "server"), (None, 499, "unknown"),
     (None, None, "server"), (None, 401, "auth"), (None, 403, "auth"), (99999, 400, "unknown"),
     (20429, 400, "rate_limited"), (21211, 500, "invalid_number")],
)
def test_kind_of_a_code_and_status_at_the_edges(code, status, kind) -> None:
    assert errors.kind_of(code=code, status=status) == kind


class KindOnlyGateway:
    """A gateway that is not Twilio: it fails with kinds only (no Twilio code, no HTTP status)."""

    simulated = True
    default_rate = None
    channel = "whatsapp"
    key = "kind-only"
    schedule_window = None  # cannot schedule
    messaging_tier = None

    def now(self):
        return self.inner.now()

    def __init__(self, refusals: dict[str, str]) -> None:
        self.refusals = refusals
        self.inner = SandboxGateway(seed=1, realtime=False)

    def create_content(self, request):
        return self.inner.create_content(request)

    def submit_approval(self, content_sid, *, name, category):
        return self.inner.submit_approval(content_sid, name=name, category=category)

    def fetch_approval(self, content_sid):
        return self.inner.fetch_approval(content_sid)

    def send_message(self, request) -> SentMessage:
        if kind := self.refusals.get(request.to):
            raise GatewayError(f"kind-only gateway refused {request.to}", kind=kind)
        return self.inner.send_message(request)

    def list_messages(self, *, to=None, since=None, limit=None) -> Iterator[MessageRecord]:
        return self.inner.list_messages(to=to, since=since, limit=limit)

    def cancel_message(self, sid):
        return self.inner.cancel_message(sid)


def test_a_gateway_without_twilio_codes_fails_leads_by_kind(tmp_path) -> None:
    invalid, stopped, fine = "+14155550101", "+14155550102", "+14155550103"
    gateway = KindOnlyGateway({invalid: "invalid_number", stopped: "opted_out"})
    with CampaignClient(f"sqlite:///{tmp_path / 'k.db'}", gateway=gateway) as client:
        client.delivery_policy = DeliveryPolicy(window=None)  # any hour (the default: 09-21 local)
        campaign = client.create_campaign("K", template="order_confirmation")
        campaign.add_leads(pd.DataFrame({"phone_number": [invalid, stopped, fine], "lead_name": ["A", "B", "C"],
                                         "order_id": ["1", "2", "3"]}))
        campaign.submit_for_approval(category="UTILITY")
        gateway.inner.advance(days=2)
        campaign.sync_approval()
        campaign.enable()
        report = campaign.send(progress=False)
        assert (report.sent, report.failed) == (1, {"invalid_number": 1, "opted_out": 1})
        with client.transaction() as session:
            rows = dict(session.execute(sa.select(OutboundMessage.to_number, OutboundMessage.error_kind)).all())
            opted = session.scalar(sa.select(ConversationUser.opted_out_at).where(
                ConversationUser.phone_number == stopped))
        assert rows == {invalid: "invalid_number", stopped: "opted_out", fine: None}
        assert opted is not None  # opted out by kind, with no Twilio code
        later = client.create_campaign("L", template="order_confirmation")
        later.add_leads(pd.DataFrame({"phone_number": [invalid], "lead_name": ["A"], "order_id": ["9"]}))
        assert later.preflight().skipped == {"invalid_number": 1}


def test_retry_after_from_a_gateway_is_honoured(tmp_path) -> None:
    from campaign_sdk.sending import RetryPolicy

    class Busy(KindOnlyGateway):
        calls: list[float] = []

        def send_message(self, request) -> SentMessage:
            self.calls.append(dt.datetime.now(dt.UTC).timestamp())
            if len(self.calls) == 1:
                raise GatewayError("busy", kind="rate_limited", retry_after=0.3)
            return self.inner.send_message(request)

    gateway = Busy({})
    with CampaignClient(f"sqlite:///{tmp_path / 'r.db'}", gateway=gateway) as client:
        client.delivery_policy = DeliveryPolicy(window=None)  # any hour (the default: 09-21 local)
        campaign = client.create_campaign("R", template="order_confirmation")
        campaign.add_leads(pd.DataFrame({"phone_number": ["+14155550101"], "lead_name": ["A"], "order_id": ["1"]}))
        campaign.submit_for_approval(category="UTILITY")
        gateway.inner.advance(days=2)
        campaign.sync_approval()
        campaign.enable()
        report = campaign.send(progress=False, retry=RetryPolicy(attempts=3, initial=0.001, maximum=0.01, jitter=0))
    assert report.sent == 1 and len(gateway.calls) == 2
    assert gateway.calls[1] - gateway.calls[0] >= 0.3  # the backoff alone would wait about 1 ms


def test_a_gateway_missing_protocol_members_is_refused_by_name(tmp_path) -> None:
    class Partial:  # a home-made gateway from before the protocol grew now() and messaging_tier
        simulated, default_rate, channel, key = True, None, "whatsapp", "partial"

    with pytest.raises(TypeError, match=r"Partial is not a Gateway: it lacks .*messaging_tier.*now"):
        CampaignClient(f"sqlite:///{tmp_path / 'p.db'}", gateway=Partial())  # type: ignore[arg-type]
    CampaignClient(f"sqlite:///{tmp_path / 'k.db'}", gateway=KindOnlyGateway({})).close()
