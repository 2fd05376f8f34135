"""Test-run hooks for the whole tree (tests/, notebooks/ and the doctests of campaign_sdk/).

Tiers: every test gets the markers of its tier without edits to its file, so a fast local loop can
deselect them (the README's fast command) while the default run, which CI runs, takes them all:

- ``notebooks``: every nbval cell under notebooks/;
- ``browser`` / ``fuzz``: every test in a ``test_browser*.py`` / ``test_fuzz*.py`` file;
- ``postgres``: a test using a ``pg_*`` fixture or parametrized with ``"postgresql"``;
- ``slow``: the tests listed in :data:`SLOW` (or marked ``@pytest.mark.slow`` in their file).

Doctests: ``--doctest-modules`` collects the examples of every module of campaign_sdk (not the
Alembic migrations). :data:`DOCUMENTED` lists the modules whose examples are part of their
documentation: each must have examples (a module listed without any fails the run) and runs with
exactly the doctest flags listed for it; any other module's examples run with no flags.

Temporary files: ``tmp_path`` and ``tmp_path_factory`` live in memory (``/dev/shm``) where it is a
directory with room to spare and neither ``--basetemp``, ``PYTEST_DEBUG_TEMPROOT`` nor ``TMPDIR`` says
where they go (see :func:`pytest_configure`).
"""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import pytest
from _pytest.doctest import DoctestItem, DoctestModule
from _pytest.mark import MarkMatcher
from _pytest.mark.expression import Expression

ROOT = Path(__file__).resolve().parent

# Bytecode caches are written even where PYTHONDONTWRITEBYTECODE is set: see tests/_bytecode.py,
# which pyproject.toml's addopts loads before any plugin (this file is imported too late for them).
pytest_plugins = ["pytester"]  # tests/test_conftest.py runs these hooks on a tree of its own
collect_ignore_glob = ["campaign_sdk/migrations/*", "notebooks/*.py"]

BOTH = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
NONE = 0
DOCUMENTED: dict[str, int] = {
    "campaign_sdk": NONE,
    "campaign_sdk.client": NONE,
    "campaign_sdk._exceptions": BOTH,
    "campaign_sdk._enums": BOTH,
    "campaign_sdk.leads._dialect": NONE,
    # analytics
    "campaign_sdk.analytics": doctest.NORMALIZE_WHITESPACE,
    "campaign_sdk.analytics._metrics": doctest.NORMALIZE_WHITESPACE,
    "campaign_sdk.analytics._plots": doctest.NORMALIZE_WHITESPACE,
    "campaign_sdk.analytics._stats": doctest.NORMALIZE_WHITESPACE,
    # delivery (send windows, zones, segments, prices, plan)
    "campaign_sdk.delivery": NONE,
    "campaign_sdk.delivery._frame": NONE,
    "campaign_sdk.delivery._policy": NONE,
    "campaign_sdk.delivery._prices": NONE,
    "campaign_sdk.delivery._render": NONE,
    "campaign_sdk.delivery._schedule": NONE,
    "campaign_sdk.delivery._segments": NONE,
    "campaign_sdk.delivery._windows": NONE,
    # experiments
    "campaign_sdk.experiments": NONE,
    "campaign_sdk.experiments._assign": NONE,
    "campaign_sdk.experiments._lift": NONE,
    "campaign_sdk.experiments._plan": NONE,
    "campaign_sdk.experiments._sequential": NONE,
    # facts (Twilio's and WhatsApp's numbers, codes, statuses)
    # the webhook inbox
    "campaign_sdk.inbox": NONE,
    "campaign_sdk.facts.errors": BOTH,
    "campaign_sdk.facts.numbers": BOTH,
    "campaign_sdk.facts.statuses": BOTH,
    # gateways, sending, testing
    "campaign_sdk.gateways": BOTH,
    "campaign_sdk.gateways._sandbox": BOTH,
    "campaign_sdk.gateways._twilio": BOTH,
    "campaign_sdk.gateways._http": NONE,
    "campaign_sdk.simulator": NONE,
    "campaign_sdk.simulator._clock": NONE,
    "campaign_sdk.sending": BOTH,
    "campaign_sdk.sending._limiter": BOTH,
    "campaign_sdk.sending._policy": BOTH,
    "campaign_sdk.testing": BOTH,
    "campaign_sdk.testing._server": BOTH,
    # phones
    "campaign_sdk.phones": doctest.ELLIPSIS,
    "campaign_sdk.phones._bulk": doctest.ELLIPSIS,
    "campaign_sdk.phones._scalar": doctest.ELLIPSIS,
    # schemas and templates
    "campaign_sdk.schemas._actions": BOTH,
    "campaign_sdk.schemas._compile": BOTH,
    "campaign_sdk.schemas._content": BOTH,
    "campaign_sdk.schemas._limits": BOTH,
    "campaign_sdk.schemas._lint": BOTH,
    "campaign_sdk.schemas._rules": BOTH,
    "campaign_sdk.schemas.types.card": BOTH,
    "campaign_sdk.schemas.types.carousel": BOTH,
    "campaign_sdk.schemas.types.catalog": BOTH,
    "campaign_sdk.schemas.types.list_picker": BOTH,
    "campaign_sdk.schemas.types.location": BOTH,
    "campaign_sdk.schemas.types.whatsapp_authentication": BOTH,
    "campaign_sdk.schemas.types.whatsapp_card": BOTH,
    "campaign_sdk.service._approval": BOTH,
    "campaign_sdk.sending._preflight": BOTH,
    "campaign_sdk.schemas._validate": BOTH,
    "campaign_sdk.schemas._variables": BOTH,
    "campaign_sdk.templates": BOTH,
    # widgets
    "campaign_sdk.widgets._bubble": BOTH,
    "campaign_sdk.schemas._draft": BOTH,
    "campaign_sdk.widgets._html": BOTH,
}

# Tests that take seconds each (a subprocess or helper process, a crash loop, hundreds of generated
# cases, a concurrency stress): file path (from the root) -> test function names (every test of
# the file when empty). A fast-loop test that costs more than about a second of CPU belongs here.
SLOW: dict[str, set[str]] = {
    "tests/analytics/test_outputs.py": {"test_figures"},
    "tests/sending/test_send.py": {
        "test_rate_limits_requests_per_second", "test_disable_during_a_send_stops_it_and_a_later_send_resumes",
        "test_an_interrupted_send_cleans_up_and_resumes",
    },
    "tests/experiments/test_design.py": {"test_too_few_leads_for_the_plan_blocks_the_send_with_the_numbers"},
    "tests/analytics/test_freshness.py": {"test_every_write_is_seen_by_the_next_call"},
    "tests/sending/test_send_pipeline.py": {"test_a_send_stopped_midway_still_counts_every_lead_in_its_report"},
    "tests/delivery/test_content_cache.py": set(),
    "tests/experiments/test_send.py": {
        "test_lift_finds_the_true_holdout_effect_through_the_sandbox",
        "test_send_winner_sends_the_winner_to_the_rest_only",
        "test_each_variant_is_approved_and_sent_its_own_content_and_holdouts_never",
    },
    "tests/experiments/test_itt.py": {
        "test_every_assigned_lead_counts_whatever_happened_to_its_message",
        "test_a_campaign_mid_send_counts_its_leads_not_sent_yet_from_the_send_time",
    },
    "tests/server/test_lifecycle.py": {
        "test_send_runs_in_the_background_refuses_a_second_and_resumes",
        "test_preflight_says_what_blocks_and_what_would_be_sent",
    },
    "tests/analytics/test_property.py": {"test_duckdb_metrics_equal_the_plain_python_reference"},
    "tests/analytics/test_change_tracking.py": {"test_random_sdk_and_raw_sql_writes_reach_every_metrics_call"},
    "tests/inbox/test_faults.py": set(),
    "tests/inbox/test_inbox.py": {"test_concurrent_duplicate_inbound_messages_never_error"},
    "tests/inbox/test_races.py": {
        "test_the_inbox_worker_under_an_intermittent_write_lock_ends_at_every_final_status",
        "test_a_write_committed_between_the_recorders_read_and_write_is_not_undone",
    },
    "tests/analytics/test_store_reading.py": {
        "test_a_mirror_built_in_bulk_is_not_read_again", "test_bulk_and_in_process_readers_agree",
        "test_the_helper_reports_failure_instead_of_raising",
    },
    "tests/delivery/test_render.py": {"test_the_sql_reasons_and_messages_agree_with_the_python_ones"},
    "tests/delivery/test_segments.py": {"test_the_plans_sql_count_agrees_with_the_python_count"},
    "tests/delivery/test_zones.py": {"test_every_regions_example_numbers_get_libphonenumbers_zones_and_region"},
    "tests/delivery/test_windows.py": {"test_next_allowed_is_never_early_and_never_skips_an_allowed_minute"},
    "tests/experiments/test_assignment.py": {
        "test_another_process_assigns_the_same_arms", "test_weights_are_honoured_on_100k_users_within_binomial_tolerance",
        "test_the_sample_ratio_check_flags_a_broken_assignment_in_the_store",
    },
    "tests/experiments/test_crash.py": set(),
    "tests/experiments/test_statistics.py": {
        "test_fixed_interval_of_absolute_lift_covers_the_truth_95_percent_of_the_time", "test_holm_is_statsmodels_holm",
        "test_over_400_seeded_sandbox_experiments_the_interval_covers_the_true_lift",
        "test_relative_lift_interval_covers_the_truth",
    },
    "tests/leads/test_last_rows.py": {"test_last_row_per_phone_in_text_order"},
    "tests/sending/test_crash.py": {
        "test_sigkill_at_every_stage_then_exactly_once",
        "test_sigkill_during_a_send_with_deferred_messages_then_exactly_once",
        "test_sigkill_during_a_send_that_hands_messages_to_twilios_scheduler_then_exactly_once",
    },
    "tests/sending/test_workers.py": set(),
    "tests/store/test_migrations.py": {"test_processes_opening_one_new_sqlite_store_at_once_migrate_it_once"},
    "tests/gateways/test_retry_after.py": {"test_send_waits_as_long_as_the_server_asked"},
    "tests/sending/test_preflight_reports.py": {"test_the_cli_demo_sends_through_the_sandbox"},
    "tests/schemas/test_draft.py": {"test_every_json_draft_of_every_type_gets_a_check_not_an_exception"},
    "tests/server/test_security.py": {"test_importing_the_sdk_does_not_import_fastapi"},
    "tests/server/test_webhooks.py": {"test_concurrent_callbacks_for_one_message_never_regress_it"},
    "tests/server/test_inbox_webhooks.py": {"test_an_inbox_that_cannot_be_written_answers_503_and_twilio_retries"},
    "tests/test_conftest.py": {
        "test_xdist_workers_take_the_costliest_file_first_with_its_tests_in_order",
        "test_notebooks_plugin_declares_nbvals_options_and_collects_with_nbvals_collector",  # imports nbval
        "test_a_notebook_is_collected_unless_the_mark_expression_deselects_its_cells",  # two pytester runs
    },
    "tests/test_layers.py": {"test_the_server_app_checks_a_draft_without_loading_ipywidgets"},
    "tests/test_readme.py": {"test_main_job_runs_end_to_end_on_the_embedded_default"},
    "tests/widgets/test_package.py": {"test_importing_campaign_sdk_does_not_import_ipywidgets"},
}

_FLAGS = (doctest.ELLIPSIS, doctest.NORMALIZE_WHITESPACE)


def module_name(path: Path) -> str:
    """The dotted name of a module file of this tree (a package for its ``__init__.py``)."""
    parts = list(path.resolve().relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


class MissingExamples(pytest.Item):
    """Fails: a module listed in DOCUMENTED has no examples (or is gone)."""

    def runtest(self) -> None:
        raise AssertionError(
            f"{self.name} is listed as documented in conftest.py DOCUMENTED but has no doctest examples: "
            "add examples to its docstrings or remove it from the list"
        )

    def reportinfo(self):  # noqa: ANN201 - pytest's signature
        return self.path, None, f"documented module {self.name}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    """Per-module doctest flags, and a failing item for a documented module without examples."""
    outcome = yield
    if not isinstance(collector, DoctestModule):
        return
    report = outcome.get_result()
    name = module_name(collector.path)
    collector.config.stash.setdefault(_SEEN, set()).add(name)
    items = [item for item in report.result if isinstance(item, DoctestItem)]
    flags = DOCUMENTED.get(name, NONE)
    for item in items:
        for example in item.dtest.examples:
            for flag in _FLAGS:  # a directive in the example itself still wins
                example.options.setdefault(flag, bool(flags & flag))
    if name in DOCUMENTED and not items and report.outcome == "passed":
        report.result.append(MissingExamples.from_parent(collector, name=name))


_SEEN = pytest.StashKey[set]()

MEMORY = Path("/dev/shm")
MEMORY_ROOM = 4 << 30  # bytes free: pytest keeps the last three runs' folders (a full run writes ~0.6 GB)


def pytest_configure(config: pytest.Config) -> None:
    """The tests' temporary folders go under :data:`MEMORY` (pytest's ``PYTEST_DEBUG_TEMPROOT``): the
    stores the tests write there are SQLite files and DuckDB mirrors, which sync them to the disk
    (fdatasync) at every checkpoint and inbox commit, some 9,000 times in the fast loop at 1 to 3 ms
    each on this machine's disk, time a worker spends waiting instead of running tests. A process a
    test kills leaves its files as on the disk (the page cache outlives the process); only a crash
    of the machine itself, which no test simulates, would tell the two apart. Left as pytest has it
    where the run says where temporary files go, or :data:`MEMORY` is missing or short of room.
    xdist's workers get their folders under the controller's (it passes them ``--basetemp``)."""
    if config.option.basetemp or "PYTEST_DEBUG_TEMPROOT" in os.environ or "TMPDIR" in os.environ:
        return
    try:
        stat = os.statvfs(MEMORY)
    except OSError:
        return
    if os.access(MEMORY, os.W_OK | os.X_OK) and stat.f_bavail * stat.f_frsize >= MEMORY_ROOM:
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(MEMORY)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    _mark_tiers(items)
    if hasattr(config, "workerinput"):  # an xdist worker: every worker sorts alike, so they agree
        items[:] = _heaviest_files_first(items)
    seen = config.stash.get(_SEEN, set())
    base = config.invocation_params.dir
    folders = [path for arg in config.args if (path := (base / arg.split("::")[0]).resolve()).is_dir()]
    for name in sorted(set(DOCUMENTED) - seen):  # gone (renamed?) though its folder was collected
        where = ROOT.joinpath(*name.split("."))
        if any(folder == where or folder in where.parents for folder in folders):
            items.append(MissingExamples.from_parent(session, name=name))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """A notebook under notebooks/ is not collected where the ``-m`` expression deselects each of its
    cells (their one tier is ``notebooks``: see _mark_tiers), as in the README's fast loop: the
    notebooks' cells were deselected anyway, and the process does not import nbval for them (see
    tests/_notebooks.py)."""
    if collection_path.suffix != ".ipynb" or not config.option.markexpr:
        return None
    if ROOT / "notebooks" not in collection_path.resolve().parents:
        return None
    try:
        selected = Expression.compile(config.option.markexpr).evaluate(MarkMatcher.from_markers([pytest.mark.notebooks.mark]))
    except Exception:  # pytest itself reports a malformed expression when it deselects
        return None
    return None if selected else True


def _mark_tiers(items: list[pytest.Item]) -> None:
    for item in items:
        path = item.path.resolve()
        try:
            relative = path.relative_to(ROOT).as_posix()
        except ValueError:
            continue
        if relative.startswith("notebooks/"):
            item.add_marker(pytest.mark.notebooks)
        if path.name.startswith("test_browser"):
            item.add_marker(pytest.mark.browser)
        if path.name.startswith("test_fuzz"):
            item.add_marker(pytest.mark.fuzz)
        fixtures = getattr(item, "fixturenames", ())
        params = getattr(getattr(item, "callspec", None), "params", {})
        if any(f.startswith("pg_") for f in fixtures) or any(
            isinstance(value, str) and value == "postgresql" for value in params.values()
        ):
            item.add_marker(pytest.mark.postgres)
        slow = SLOW.get(relative)
        function = getattr(item, "originalname", None) or item.name
        if slow is not None and (not slow or function in slow):
            item.add_marker(pytest.mark.slow)


# Rough cost of a test by its tier, for _heaviest_files_first (a test of no tier counts 1).
_COST = {"slow": 40, "browser": 40, "fuzz": 40, "notebooks": 10, "postgres": 2}


def _heaviest_files_first(items: list[pytest.Item]) -> list[pytest.Item]:
    """The items, file by file, the costliest file first (by tiers: see _COST), each file's items
    in their order (a notebook's cells stay in sequence). With ``--dist loadfile`` and
    ``--no-loadscope-reorder`` (pyproject.toml) xdist hands the files out in this order, so a long
    file does not start last and keep one worker busy while the others are idle (xdist's own
    order, by number of tests, put the few-test slow files at the end)."""
    files: dict[Path, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.path, []).append(item)

    def cost(group: list[pytest.Item]) -> int:
        return sum(max([_COST[m.name] for m in item.iter_markers() if m.name in _COST], default=1) for item in group)

    return [item for group in sorted(files.values(), key=cost, reverse=True) for item in group]

