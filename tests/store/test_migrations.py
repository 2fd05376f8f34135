"""Migrations: they create exactly the models' schema, and opening a client upgrades old stores."""

from __future__ import annotations

import subprocess
import sys
import threading

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from campaign_sdk import CampaignClient
from campaign_sdk.migrations import current_revision, upgrade
from campaign_sdk.models import Base


def _head() -> str:
    from alembic.script import ScriptDirectory

    from campaign_sdk.migrations import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrated_schema_matches_models(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_opening_a_client_upgrades_an_old_store_and_keeps_its_data(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO campaigns (name, campaign_type, status, approval_state, content_type, "
                "content, created_at, updated_at) VALUES ('Old', 'marketing', 'unsubmitted', "
                "'unsubmitted', 'twilio/text', :content, :now, :now)"
            ),
            {"content": '{"body": "Hello {{lead_name}}, welcome back to the shop!"}', "now": "2026-01-01 00:00:00"},
        )
    engine.dispose()

    with CampaignClient(store_url) as client:
        assert current_revision(client.engine) == _head()
        campaign = client.campaign("Old")
        assert campaign.variables == ["lead_name"]
        assert campaign.content.body.startswith("Hello")
    with CampaignClient(store_url) as client:  # opening again is a no-op
        assert current_revision(client.engine) == _head()


def test_a_store_at_the_head_opens_without_running_alembic(store_url: str, monkeypatch) -> None:
    from alembic import command

    CampaignClient(store_url).close()

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("alembic ran on a store already at the head")

    monkeypatch.setattr(command, "upgrade", refuse)
    with CampaignClient(store_url) as client:
        assert current_revision(client.engine) == _head()


def _open_all(urls: list[str]) -> list[BaseException]:
    """Open a client on each URL, each from its own thread, all at once; the errors raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(urls))

    def open_one(url: str) -> None:
        start.wait()
        try:
            CampaignClient(url).close()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_one, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_clients_opening_new_stores_at_once_from_threads_migrate_each_once(store_url: str, tmp_path) -> None:
    """Alembic's context is module-global, and two openers of one new store race to create it:
    both used to fail (KeyError: 'script', "table alembic_version already exists")."""
    others = [f"sqlite:///{tmp_path / f'other{i}.db'}" for i in range(3)]
    assert _open_all([store_url] * 4 + others) == []
    for url in [store_url, *others]:
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            assert connection.scalar(sa.text("SELECT count(*) FROM alembic_version")) == 1
        assert current_revision(engine) == _head()
        engine.dispose()


def test_processes_opening_one_new_sqlite_store_at_once_migrate_it_once(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    code = "import sys; from campaign_sdk import CampaignClient; CampaignClient(sys.argv[1]).close()"
    openers = [subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True)
               for _ in range(3)]
    failures = [err for p in openers if (err := p.communicate(timeout=120)[1]) and p.returncode != 0]
    assert failures == []
    assert current_revision(sa.create_engine(url)) == _head()
