"""The gateway contract: one fixture, ``account``, runs every case against each gateway.

A new gateway joins the contract by adding one entry to :data:`GATEWAYS`: a function returning
the gateway and the simulated account behind it (its clock, people and numbers), torn down by the
fixture. The cases drive the account through :class:`Account` only, so they never know which
gateway they talk to:

- ``sandbox``: :class:`SandboxGateway`, the simulator in process;
- ``twilio-http``: :class:`TwilioGateway` with the real twilio-python client, over HTTP to the
  local Twilio server (the same simulator, served).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

import pytest

from campaign_sdk.gateways import ContentRequest, Gateway, SandboxGateway, SendRequest, TwilioGateway
from campaign_sdk.simulator import Clock, Simulator, World
from campaign_sdk.testing import TwilioTestServer

SERVICE_SID = "MG" + "7" * 32
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
TEXT = ContentRequest(
    "order_update", "twilio/text", {"twilio/text": {"body": "Hi {{1}}, your order {{2}} has shipped."}},
    {"1": "Ana", "2": "A-1"},
)
VALUES = {"1": "Ana", "2": "A-7"}


@dataclass
class Account:
    """A gateway and the simulated account behind it."""

    gateway: Gateway
    simulator: Simulator

    def now(self) -> dt.datetime:
        return self.simulator.now()

    def advance(self, **delta: float) -> None:
        self.simulator.clock.advance(**delta)

    def receive(self, phone: str, body: str) -> str:
        """``phone`` writes to the account now (a reply, STOP, START)."""
        return self.simulator.inbound(f"whatsapp:{phone}", body)

    def throttle(self, times: int = 1, *, retry_after: float | None = None) -> None:
        self.simulator.throttle(times, retry_after=retry_after)

    def refuse(self, phone: str, kind_or_code: int | str) -> None:
        self.simulator.error_numbers[phone] = kind_or_code

    def content(self, request: ContentRequest = TEXT) -> str:
        return self.gateway.create_content(request)

    def send(self, to: str, content_sid: str, **options: object) -> str:
        return self.gateway.send_message(SendRequest(to, content_sid, VALUES, **options)).sid  # type: ignore[arg-type]

    def status(self, sid: str) -> tuple[str, int | None]:
        [record] = [r for r in self.gateway.list_messages() if r.sid == sid]
        return record.status, record.error_code


def _world(**rates: float) -> World:
    return World(**{"delivery_rate": 1.0, "read_rate": 0.0, "reply_rate": 0.0, "opt_out_rate": 0.0, **rates})


@contextmanager
def _sandbox(seed: int, world: World) -> Iterator[Account]:
    gateway = SandboxGateway(seed, start=START, realtime=False, **_rates_of(world))
    yield Account(gateway, gateway.simulator)


@contextmanager
def _twilio_http(seed: int, world: World) -> Iterator[Account]:
    simulator = Simulator(seed, world=world, clock=Clock(START, realtime=False))
    with TwilioTestServer(simulator=simulator) as server:
        gateway = TwilioGateway(server.twilio_client(), messaging_service_sid=SERVICE_SID, rate=None)
        yield Account(gateway, simulator)


def _rates_of(world: World) -> dict[str, float]:
    return {name: getattr(world, name) for name in ("delivery_rate", "read_rate", "reply_rate", "conversion_rate",
                                                     "opt_out_rate")}


GATEWAYS: dict[str, Callable[[int, World], AbstractContextManager[Account]]] = {
    "sandbox": _sandbox,
    "twilio-http": _twilio_http,
}


@pytest.fixture(params=sorted(GATEWAYS))
def open_account(request) -> Iterator[Callable[..., Account]]:
    """``open_account(seed=0, **rates)``: an account of this gateway, whose people behave by ``rates``
    (default: everyone gets it, nobody reads, replies or opts out)."""
    opened: list[AbstractContextManager[Account]] = []

    def make(seed: int = 0, **rates: float) -> Account:
        manager = GATEWAYS[request.param](seed, _world(**rates))
        opened.append(manager)
        return manager.__enter__()

    yield make
    for manager in reversed(opened):
        manager.__exit__(None, None, None)


@pytest.fixture
def account(open_account) -> Account:
    return open_account()
