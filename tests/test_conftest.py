"""The root conftest.py's hooks, run on a small tree of their own: test tiers applied without
edits to the tests, per-module doctest flags, and a documented module without examples failing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tree(pytester: pytest.Pytester) -> pytest.Pytester:
    # the real hooks, with tables of this tree's own (the hooks read the module's globals)
    pytester.makeconftest(
        (ROOT / "conftest.py").read_text().replace('pytest_plugins = ["pytester"]', "")
        + '\nDOCUMENTED = {"docpkg": NONE, "docpkg.spaced": doctest.NORMALIZE_WHITESPACE,'
        ' "docpkg.strict": NONE, "docpkg.plain": NONE, "docpkg.gone": NONE}\n'
        'SLOW = {"tests/test_tiers.py": {"test_slow"}}\n'
    )
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider -p no:nbval --doctest-modules\nmarkers =\n"
                     "    slow: s\n    browser: b\n    notebooks: n\n    postgres: p\n    fuzz: f\n")
    pkg = pytester.mkpydir("docpkg")
    (pkg / "__init__.py").write_text('"""\n>>> 1 + 1\n2\n"""\n')
    spaced = '"""\n>>> print("a   b")\na b\n"""\n'
    (pkg / "spaced.py").write_text(spaced)
    (pkg / "strict.py").write_text(spaced)
    (pkg / "plain.py").write_text('"""No examples here."""\n')
    (pkg / "other.py").write_text('"""\n>>> print("x")\nx\n"""\n')
    return pytester


def test_documented_modules_need_examples_and_get_their_own_flags(tree: pytest.Pytester) -> None:
    result = tree.runpytest("docpkg")
    result.assert_outcomes(passed=3, failed=3)  # __init__, spaced, other | strict, plain, gone
    failed = {r.nodeid for r in result.reprec.getreports("pytest_runtest_logreport") if r.failed}
    assert any("docpkg/strict.py" in n for n in failed)  # no NORMALIZE_WHITESPACE for it
    assert any(n.endswith("docpkg.plain") for n in failed) and any(n.endswith("docpkg.gone") for n in failed)
    result.stdout.fnmatch_lines(["*docpkg.plain is listed as documented*has no doctest examples*"])


def test_tiers_are_applied_without_marks_in_the_files(tree: pytest.Pytester) -> None:
    tests = tree.mkdir("tests")
    (tests / "test_tiers.py").write_text(
        "import pytest\n"
        "@pytest.fixture\ndef pg_url():\n    return 'x'\n"
        "@pytest.fixture(params=['sqlite', 'postgresql'])\ndef store(request):\n    return request.param\n"
        "def test_pg(pg_url): pass\n"
        "def test_store(store): pass\n"
        "def test_slow(): pass\n"
        "def test_plain(): pass\n"
    )
    (tests / "test_fuzz_routes.py").write_text("def test_fuzzed(): pass\n")
    (tests / "test_browser_page.py").write_text("def test_page(): pass\n")

    items, _ = tree.inline_genitems("tests")
    tiers = {item.name: {m.name for m in item.iter_markers()} & {"slow", "browser", "notebooks", "postgres", "fuzz"}
             for item in items}
    assert tiers == {
        "test_pg": {"postgres"}, "test_store[sqlite]": set(), "test_store[postgresql]": {"postgres"},
        "test_slow": {"slow"}, "test_plain": set(), "test_fuzzed": {"fuzz"}, "test_page": {"browser"},
    }
    run = tree.runpytest("tests", "-m", "not slow and not browser and not notebooks and not postgres and not fuzz")
    run.assert_outcomes(passed=2, deselected=5)


def test_xdist_workers_take_the_costliest_file_first_with_its_tests_in_order(tree: pytest.Pytester) -> None:
    tests = tree.mkdir("tests")
    (tests / "test_many.py").write_text("".join(f"def test_{i}(): pass\n" for i in range(5)))
    (tests / "test_tiers.py").write_text("def test_slow(): pass\ndef test_plain(): pass\n")  # test_slow: SLOW

    # one worker runs the files in the order it is handed them: by file name or by number of tests
    # test_many.py would come first; by cost (a slow test outweighs five plain ones) test_tiers.py
    run = tree.runpytest_subprocess("tests", "-n", "1", "--dist", "loadfile", "--no-loadscope-reorder", "-v")
    run.assert_outcomes(passed=7)
    order = [line.split("PASSED ")[1].split("::")[1].split()[0] for line in run.outlines if "PASSED " in line]
    assert order == ["test_slow", "test_plain", "test_0", "test_1", "test_2", "test_3", "test_4"]
    serial = tree.runpytest("tests", "-v")  # not under xdist: the files' own order
    assert [r.nodeid.split("::")[1] for r in serial.reprec.getreports("pytest_runtest_logreport")
            if r.when == "call"][:2] == ["test_0", "test_1"]


def test_notebooks_plugin_declares_nbvals_options_and_collects_with_nbvals_collector() -> None:
    from nbval import plugin as nbval

    from tests import _notebooks

    def options(addoption) -> dict[str, dict]:  # group and names -> what the option does
        parser = pytest.Parser(_ispytest=True)
        addoption(parser)
        return {
            f"{group.name} {' '.join(option.names())}": {k: v for k, v in option.attrs().items() if k != "container"}
            for group in parser._groups for option in group.options
        }

    assert options(_notebooks.pytest_addoption) == options(nbval.pytest_addoption)
    assert nbval.pytest_collect_file.__code__.co_varnames[:2] == ("file_path", "parent")  # called by keyword


def test_a_notebook_is_collected_unless_the_mark_expression_deselects_its_cells(tree: pytest.Pytester) -> None:
    # the real pyproject.toml's way: nbval's plugin replaced by tests/_notebooks.py
    tree.makeini("[pytest]\naddopts = -p no:cacheprovider -p no:nbval -p tests._notebooks --nbval\n"
                 "pythonpath = " + str(ROOT) + "\nmarkers =\n    slow: s\n    browser: b\n    notebooks: n\n"
                 "    postgres: p\n    fuzz: f\n")
    notebooks = tree.mkdir("notebooks")
    cell = {"cell_type": "code", "execution_count": 1, "id": "c1", "metadata": {}, "outputs": [], "source": "x = 1"}
    (notebooks / "one.ipynb").write_text(json.dumps({
        "cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }))
    tests = tree.mkdir("tests")
    (tests / "test_plain.py").write_text("def test_plain(): pass\n")

    every, _ = tree.inline_genitems("notebooks", "tests")
    assert [(item.name, {m.name for m in item.iter_markers()}) for item in every] == [
        ("Cell 0", {"notebooks"}), ("test_plain", set()),
    ]
    # what is collected (before -m deselects): the notebook only where a cell of it can be selected
    fast, _ = tree.inline_genitems("notebooks", "tests", "-m", "not notebooks and not slow")
    assert [item.name for item in fast] == ["test_plain"]
    some, _ = tree.inline_genitems("notebooks", "tests", "-m", "notebooks or slow")
    assert [item.name for item in some] == ["Cell 0", "test_plain"]


def test_temporary_folders_go_to_memory_unless_the_run_names_a_place(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    import importlib.util
    import os
    from types import SimpleNamespace

    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    assert spec is not None and spec.loader is not None
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    config = SimpleNamespace(option=SimpleNamespace(basetemp=None))

    def place(*, basetemp: str | None = None, env: dict[str, str] | None = None) -> str | None:
        for name in ("PYTEST_DEBUG_TEMPROOT", "TMPDIR"):
            monkeypatch.delenv(name, raising=False)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        config.option.basetemp = basetemp
        hooks.pytest_configure(config)  # type: ignore[arg-type]
        return os.environ.get("PYTEST_DEBUG_TEMPROOT")

    monkeypatch.setattr(hooks, "MEMORY", tmp_path)
    monkeypatch.setattr(hooks, "MEMORY_ROOM", 1)
    assert place() == str(tmp_path)
    assert place(basetemp="elsewhere") is None
    assert place(env={"TMPDIR": "/elsewhere"}) is None
    assert place(env={"PYTEST_DEBUG_TEMPROOT": "/mine"}) == "/mine"
    monkeypatch.setattr(hooks, "MEMORY_ROOM", 1 << 62)  # short of room
    assert place() is None
    monkeypatch.setattr(hooks, "MEMORY", tmp_path / "missing")
    monkeypatch.setattr(hooks, "MEMORY_ROOM", 1)
    assert place() is None
