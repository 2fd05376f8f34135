"""One simulated Twilio account, behind both ``SandboxGateway`` (in process) and the local HTTP
Twilio server ``campaign_sdk.testing.TwilioTestServer`` (the same simulator over HTTP).

>>> from campaign_sdk.simulator import Clock, Simulator, World
>>> sim = Simulator(seed=1, world=World(delivery_rate=1.0), clock=Clock(realtime=False))
>>> content = sim.create_content({"twilio/text": {"body": "Hi {{1}}"}}, variables={"1": "Ana"})
>>> sent = sim.send("+14155550100", channel="whatsapp", service="MG" + "0" * 32, content_sid=content.sid,
...                 variables={"1": "Ana"})
>>> sent.status, sent.body
('accepted', 'Hi Ana')
>>> _ = sim.clock.advance(minutes=1)
>>> sim.fetch(sent.sid).status
'delivered'

It holds contents, WhatsApp approvals, messages and inbound messages, and applies Twilio's rules:
magic and rejected numbers, STOP / START, SendAt's window (``scheduled`` -> queued at SendAt,
``canceled``), ValidityPeriod (30036), the 24 h WhatsApp window (63016), 429s with Retry-After.
With a :class:`World` statuses, replies, conversions and approvals progress by seeded draws over
its :class:`Clock`; without one they move only when told. It does no I/O and imports no HTTP code.
"""

from __future__ import annotations

from campaign_sdk.simulator._clock import Clock
from campaign_sdk.simulator._core import SENDER, SERVICE_WINDOW, Approval, Content, Record, SimError, Simulator
from campaign_sdk.simulator._world import REJECTION_MARKER, World

__all__ = [
    "REJECTION_MARKER", "SENDER", "SERVICE_WINDOW", "Approval", "Clock", "Content", "Record", "SimError", "Simulator",
    "World",
]
