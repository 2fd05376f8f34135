"""Property-based fuzzing of every route from the published OpenAPI document (schemathesis).

Valid and invalid requests are generated for every operation and sent to the live server over
HTTP, with a valid API key; webhook forms are signed like Twilio signs them, so their handling is
fuzzed too, not just the signature check. Every answer must be a documented one and never a 5xx,
no invalid payload may be accepted, and a refused request must leave the store and the media
directory exactly as they were.

The default run is kept short; set CAMPAIGN_SDK_FUZZ_EXAMPLES (e.g. 200) for a deep run.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping

import pytest
import requests
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, reject, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from campaign_sdk.server import create_app

from .conftest import API_KEY, PUBLIC_URL, LiveServer, pg_schema_url, settings_for, twilio_signature

WEBHOOKS = ("/twilio/status", "/twilio/inbound")
NO_INPUT = ("/templates", "/healthz")
EXAMPLES = int(os.environ.get("CAMPAIGN_SDK_FUZZ_EXAMPLES", "5"))  # per operation and mode
CHECKS = [not_a_server_error, negative_data_rejection, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    """A server on a store of its own: snapshots and metrics stay small, so more cases fit."""
    if request.param == "sqlite":
        urls = iter([f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'campaigns.db'}"])
    else:
        urls = pg_schema_url()
    url = next(urls)
    with LiveServer(create_app(settings_for(url, tmp_path_factory.mktemp("media")))) as live:
        yield live
    next(urls, None)  # drops the PostgreSQL schema


@pytest.fixture(scope="module")
def api_schema(server):
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    # Every case is sent with a valid key (check_case): a generated Authorization header would be
    # replaced on the wire, so a case made invalid only there would be valid when it arrives.
    schema.config.generation.update(with_security_parameters=False)
    seed_store(server)
    return schema


def seed_store(server) -> None:
    """Give the fuzzer something to find: a campaign of each content type with leads."""
    client = server.client
    for key in ("order_confirmation", "shipping_update", "appointment_reminder", "promo_code", "welcome_offer"):
        campaign = client.create_campaign(f"fuzz {key}", template=key)
        campaign.add_leads([__import__("campaign_sdk").CampaignLeadUser(phone_number="+14155552671",
                                                                         custom_variables={"lead_name": "A"})])


_TABLES: dict = {}


def snapshot(server) -> str:
    """A digest of every table's rows and of the media directory."""
    engine = server.client.engine
    digest = hashlib.sha256()
    tables = _TABLES.setdefault(engine.url, sorted(sa.inspect(engine).get_table_names()))
    with engine.connect() as connection:
        for table in tables:
            rows = connection.execute(sa.text(f"SELECT * FROM {table}")).all()
            digest.update(repr(sorted(map(repr, rows))).encode())
    media = server.app.state.settings.media_dir
    digest.update(repr(sorted(p.name for p in media.iterdir()) if media.exists() else []).encode())
    return digest.hexdigest()


def sign(case) -> None:
    if isinstance(case.body, Mapping):
        case.body = {str(k): v if isinstance(v, str) else str(v) for k, v in case.body.items()}
        if case.headers is None:
            case.headers = {}
        case.headers["X-Twilio-Signature"] = twilio_signature(PUBLIC_URL + case.path, case.body)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_every_route(server, api_schema, mode) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 17
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case) -> None:
            check_case(server, case, mode)

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid: the operation takes no input
            assert mode is GenerationMode.NEGATIVE and operation.path in NO_INPUT, operation.label


def unsendable_query(case) -> bool:
    """Whether a generated query value puts nothing on the wire (``[{}]``, ``{}``, ``[]``...).

    requests sends a list's items as repeated keys and flattens a container item into its keys, so
    such a value never reaches the server: a negative case made invalid by it alone is a valid
    request when it arrives (found by seed 180474193192733895080922493906936439201).
    """
    return any(
        isinstance(value, dict | list)
        and not requests.Request("GET", "http://h/", params={name: value}).prepare().url.partition("?")[2]
        for name, value in (case.query or {}).items()
    )


def check_case(server, case, mode) -> None:
    if mode is GenerationMode.NEGATIVE and unsendable_query(case):
        reject()
    if case.path in WEBHOOKS:
        sign(case)
    before = snapshot(server)
    response = case.call_and_validate(headers={"Authorization": f"Bearer {API_KEY}"}, checks=CHECKS)
    if response.status_code >= 400:
        assert snapshot(server) == before, f"{case.method} {case.path} answered {response.status_code} but wrote"


@pytest.mark.parametrize(("query", "unsendable"), [
    ({"campaign_type": [{}]}, True), ({"status": {}}, True), ({"status": []}, True),
    ({"limit": 5}, False), ({"status": ["x"]}, False), ({"status": [{"k": 1}]}, False), (None, False),
])
def test_unsendable_query(query, unsendable) -> None:
    """A query value requests drops on the wire is told apart from one it sends."""
    assert unsendable_query(type("Case", (), {"query": query})()) is unsendable
