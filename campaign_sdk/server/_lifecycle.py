"""Lifecycle routes: approval, enable / disable, preflight, and sends run in the background.

A send runs ``Campaign.send`` in a thread of the worker that accepted it and answers 202 with a
handle at once. The handle is a job record in the store, so any worker answers a poll; a second
send of the same campaign while one runs (in any worker) is refused with 409. If the worker dies,
the poll says so; sending again resumes without messaging anyone twice (``Campaign.send``'s rule).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from campaign_sdk import service
from campaign_sdk._campaign import Campaign
from campaign_sdk._enums import ApprovalState
from campaign_sdk._exceptions import CampaignNotFoundError
from campaign_sdk.schemas import CampaignSchema
from campaign_sdk.server._auth import require_api_key
from campaign_sdk.server._campaigns import CampaignId
from campaign_sdk.server._deps import get_client, known_query_only, open_campaign
from campaign_sdk.server._errors import ERROR_RESPONSES, error_response
from campaign_sdk.server._settings import ServerSettings

log = logging.getLogger("campaign_sdk.server")
router = APIRouter(dependencies=[Depends(require_api_key), Depends(known_query_only)],
                   responses=ERROR_RESPONSES, tags=["lifecycle"])
HEARTBEAT = 2.0


class ApprovalRequest(BaseModel):
    """WhatsApp approval: the category, and sample values for the template's variables."""

    model_config = ConfigDict(extra="forbid")

    category: str = Field(default="MARKETING", description="MARKETING, UTILITY or AUTHENTICATION")
    samples: dict[str, str] | None = None


class ApprovalOut(BaseModel):
    approval_state: ApprovalState
    campaign: CampaignSchema


class PreflightOut(BaseModel):
    """What a send would do now: who would be messaged now, who deferred (until when), who skipped
    and why, what blocks it."""

    campaign: str
    campaign_id: int
    simulated: bool
    ready: bool
    problems: list[str]
    status: str
    approval_state: str
    enabled: bool
    to_send: int
    deferred: dict[str, int]
    next_due: dt.datetime | None
    last_due: dt.datetime | None
    skipped: dict[str, int]
    rate: float | None
    estimated_seconds: float | None
    preview: list[dict[str, Any]]


class SendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rate: float | None = Field(default=None, gt=0, le=1000, description="messages per second (default: the gateway's)")
    max_in_flight: int = Field(default=16, ge=1, le=64)


class SendHandle(BaseModel):
    """A send started over HTTP. ``state``: running, completed, stopped, failed or lost (the
    worker died: send again to resume). ``messages`` counts the campaign's messages by status now."""

    send_id: str
    campaign_id: int
    state: Literal["running", "completed", "stopped", "failed", "lost"]
    started_at: str
    finished_at: str | None = None
    to_send_at_start: int
    messages: dict[str, int] = Field(default_factory=dict)
    report: dict[str, Any] | None = None
    error: str | None = None
    poll: str


@router.post("/campaigns/{campaign_id}/submit-for-approval")
def submit_for_approval(request: Request, campaign_id: CampaignId, body: ApprovalRequest) -> CampaignSchema:
    """Lint the template for WhatsApp (422 with every reason), then submit it through the
    gateway; it becomes pending (502 if the gateway refuses; nothing is recorded then)."""
    campaign = open_campaign(request, campaign_id)
    return campaign.submit_for_approval(category=body.category, samples=body.samples).to_schema()


@router.post("/campaigns/{campaign_id}/sync-approval")
def sync_approval(request: Request, campaign_id: CampaignId) -> ApprovalOut:
    """Ask the gateway for the template's WhatsApp status and record it."""
    campaign = open_campaign(request, campaign_id)
    state = campaign.sync_approval()
    return ApprovalOut(approval_state=state, campaign=campaign.to_schema())


@router.post("/campaigns/{campaign_id}/enable")
def enable(request: Request, campaign_id: CampaignId) -> CampaignSchema:
    """Enable an approved campaign (409 if its template is not approved)."""
    return open_campaign(request, campaign_id).enable().to_schema()


@router.post("/campaigns/{campaign_id}/disable")
def disable(request: Request, campaign_id: CampaignId) -> CampaignSchema:
    """Pause the campaign (``enabled`` becomes null); a running send stops soon after."""
    return open_campaign(request, campaign_id).disable().to_schema()


@router.get("/campaigns/{campaign_id}/preflight")
def preflight(
    request: Request,
    campaign_id: CampaignId,
    rate: Annotated[float | None, Query(gt=0, le=1000)] = None,
    sample: Annotated[int, Query(ge=0, le=20)] = 3,
) -> PreflightOut:
    """What ``send`` would do now, without sending anything."""
    return _preflight_out(open_campaign(request, campaign_id).preflight(rate=rate, sample=sample))


@router.post("/campaigns/{campaign_id}/send", status_code=202, response_model=SendHandle,
             responses={409: ERROR_RESPONSES[409] | {"description": "a send of this campaign is running, "
                                                                     "or the campaign cannot send"}})
def send(request: Request, campaign_id: CampaignId, body: SendRequest | None = None) -> Any:
    """Start sending the campaign in the background; answers at once with a handle to poll.

    409 while another send of the campaign runs (in any worker), or when the preflight finds
    a blocker (not approved, paused, ...): nothing starts then."""
    body = body or SendRequest()
    client = get_client(request)
    campaign = client.campaign(campaign_id)
    check = campaign.preflight(rate=body.rate, sample=0)
    if not check.ready:
        return error_response(409, f"campaign {check.campaign!r} cannot send: " + "; ".join(check.problems),
                              error="CampaignStateError")
    send_id = uuid.uuid4().hex
    record = {"send_id": send_id, "campaign_id": campaign_id, "state": "running",
              "started_at": _now(), "to_send_at_start": check.to_send}
    with client.transaction() as session:
        holder = service.start_job(session, _scope(campaign_id), send_id, record)
    if holder is not None:
        return error_response(409, f"campaign {campaign_id} is already being sent (send {holder.get('send_id')}, "
                              f"started {holder.get('started_at')}); poll it, or disable the campaign to stop it",
                              error="CampaignStateError")
    runner = _SendRunner(request.app, campaign, send_id, body)
    request.app.state.sends[send_id] = runner
    runner.start()
    log.info("send %s of campaign %s started (%s leads)", send_id, campaign_id, check.to_send)
    return _handle(request, campaign_id, send_id)


@router.get("/campaigns/{campaign_id}/sends/{send_id}")
def get_send(request: Request, campaign_id: CampaignId,
             send_id: Annotated[str, Path(pattern="^[0-9a-f]{32}$")]) -> SendHandle:
    """Where a send stands: its state, the campaign's messages by status, and the final report."""
    return _handle(request, campaign_id, send_id)


class _SendRunner(threading.Thread):
    """Runs one ``Campaign.send`` and keeps its job record up to date."""

    def __init__(self, app: FastAPI, campaign: Campaign, send_id: str, body: SendRequest) -> None:
        super().__init__(name=f"send-{send_id[:8]}", daemon=True)
        self.app, self.campaign, self.send_id, self.body = app, campaign, send_id, body
        self.done = threading.Event()

    def run(self) -> None:
        beat = threading.Thread(target=self._heartbeat, daemon=True)
        beat.start()
        final: dict[str, Any]
        try:
            report = self.campaign.send(rate=self.body.rate, max_in_flight=self.body.max_in_flight, progress=False)
            final = {"state": "completed" if report.complete else "stopped", "report": _report(report)}
        except Exception as exc:  # recorded on the handle; the send itself is resumable
            log.warning("send %s of campaign %s failed: %s", self.send_id, self.campaign.id, type(exc).__name__)
            final = {"state": "failed", "error": str(exc), "report": _report(getattr(exc, "report", None))}
        finally:
            self.done.set()
        self._finish(final | {"finished_at": _now()})

    def _heartbeat(self) -> None:
        while not self.done.wait(HEARTBEAT):
            try:
                with self.app.state.client.transaction() as session:
                    service.beat_job(session, _scope(self.campaign.id), self.send_id)
            except Exception as exc:  # a missed beat is retried; only a long outage marks it lost
                log.warning("send %s: heartbeat failed (%s)", self.send_id, type(exc).__name__)

    def _finish(self, data: dict[str, Any]) -> None:
        with self.app.state.client.transaction() as session:
            service.finish_job(session, _scope(self.campaign.id), self.send_id, data)
        self.app.state.sends.pop(self.send_id, None)


def _handle(request: Request, campaign_id: int, send_id: str) -> SendHandle:
    client = get_client(request)
    with client.transaction() as session:
        record = service.get_job(session, send_id)
        if record is None or record.get("campaign_id") != campaign_id:
            raise CampaignNotFoundError(f"campaign {campaign_id} has no send {send_id!r}")
        messages = service.message_status_counts(session, campaign_id)
    stale = dt.datetime.now(dt.UTC).timestamp() - float(record.get("heartbeat", 0)) > service.JOB_TTL
    if record["state"] == "running" and stale:
        record |= {"state": "lost", "error": "the worker running this send stopped; send again to resume "
                                             "(no lead is messaged twice)"}
    return SendHandle(**{k: v for k, v in record.items() if k in SendHandle.model_fields}, messages=messages,
                      poll=f"/campaigns/{campaign_id}/sends/{send_id}")


def _preflight_out(check: Any) -> PreflightOut:
    preview = check.preview.astype(object).where(check.preview.notna(), None).to_dict("records")
    seconds = check.estimated_duration.total_seconds() if check.estimated_duration is not None else None
    return PreflightOut(
        campaign=check.campaign, campaign_id=check.campaign_id, simulated=check.simulated, ready=check.ready,
        problems=list(check.problems), status=check.status, approval_state=check.approval_state,
        enabled=check.enabled, to_send=check.to_send, deferred=dict(check.deferred), next_due=check.next_due,
        last_due=check.last_due, skipped=dict(check.skipped), rate=check.rate,
        estimated_seconds=seconds, preview=[{str(k): _plain(v) for k, v in row.items()} for row in preview],
    )


def _report(report: Any) -> dict[str, Any] | None:
    if report is None:
        return None
    return {
        "to_send": report.to_send, "sent": report.sent, "reconciled": report.reconciled,
        "failed": {str(code): n for code, n in report.failed.items()}, "skipped": dict(report.skipped),
        "unresolved": report.unresolved, "remaining": report.remaining, "stopped": report.stopped,
        "simulated": report.simulated, "duration_seconds": round(report.duration, 3),
    }


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else str(value)


def _scope(campaign_id: int) -> str:
    return f"send:{campaign_id}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def gateway_for(settings: ServerSettings) -> Any:
    """A TwilioGateway when the Twilio account, token and a sender (the messaging service, else
    ``TWILIO_FROM``) are configured (status callbacks pointed at this service); otherwise None:
    the client's default sandbox."""
    if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_sender):
        return None
    from twilio.rest import Client

    from campaign_sdk.gateways import TwilioGateway

    callback = f"{settings.public_url.rstrip('/')}/twilio/status" if settings.public_url else None
    service = settings.twilio_messaging_service_sid
    return TwilioGateway(Client(settings.twilio_account_sid, settings.twilio_auth_token), messaging_service_sid=service,
                         from_=None if service else settings.twilio_from, status_callback=callback)


def startup(app: FastAPI) -> None:
    """The registry of the sends this worker runs."""
    app.state.sends = {}


def shutdown(app: FastAPI) -> None:
    """Sends still running when the worker stops are recorded as stopped; the next send resumes
    them (intents without an answer are reconciled, nobody is messaged twice)."""
    for runner in list(getattr(app.state, "sends", {}).values()):
        runner.done.set()
        try:
            runner._finish({"state": "stopped", "finished_at": _now(),
                            "error": "the server shut down during the send; send again to resume"})
        except Exception as exc:  # the store may be gone too; the poll then reports the send lost
            log.warning("send %s: could not record the shutdown (%s)", runner.send_id, type(exc).__name__)
