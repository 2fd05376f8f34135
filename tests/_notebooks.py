"""nbval, imported only by a test process that collects a notebook.

pyproject.toml's addopts disable nbval's own plugin (``-p no:nbval``) and load this one in its place
(``-p tests._notebooks``). nbval's plugin module imports nbformat, which imports jsonschema, whose
format checkers build some forty Lark grammars at import (rfc3987_syntax): over a second of CPU in
every process (the xdist controller, each worker) even where no notebook runs, as in the README's
fast loop (the root conftest.py does not collect notebooks a ``-m`` expression deselects). This
module declares the same options (tests/test_conftest.py checks they are nbval's, name for name)
and hands each ``.ipynb`` file to nbval's own collector, so notebooks run exactly as with nbval's
plugin.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """nbval 0.11's options, as its ``pytest_addoption`` declares them."""
    group = parser.getgroup("nbval", "Jupyter Notebook validation")
    group.addoption("--nbval", action="store_true", help="Run Jupyter notebooks, validating all output")
    group.addoption("--nbval-lax", action="store_true",
                    help="Run Jupyter notebooks, only validating output on cells marked with # NBVAL_CHECK_OUTPUT")
    group.addoption("--nbval-sanitize-with",
                    help="File with regex expressions to sanitize the outputs. This option only works when "
                         "the --nbval flag is passed to py.test")
    group.addoption("--nbval-current-env", action="store_true",
                    help="Force test execution to use a python kernel in the same environment that py.test was "
                         "launched from. Without this flag, the kernel stored in the notebook is used by default. "
                         "See also: --nbval-kernel-name")
    group.addoption("--nbval-kernel-name", action="store", default=None,
                    help="Force test execution to use the named kernel. If a kernel is not named, the kernel "
                         "stored in the notebook is used by default. See also: --current-env")
    group.addoption("--nbval-cell-timeout", action="store", default=2000, type=float,
                    help="Timeout for cell execution, in seconds.")
    group.addoption("--nbval-kernel-startup-timeout", action="store", default=60, type=float,
                    help="Timeout for kernel startup, in seconds.")
    group.addoption("--sanitize-with", help="(deprecated) Alias of --nbval-sanitize-with")
    group.addoption("--current-env", action="store_true", help="(deprecated) Alias of --nbval-current-env")
    parser.getgroup("terminal reporting")._addoption(
        "--nbdime", action="store_true", help="view failed nbval cells with nbdime."
    )


def pytest_configure(config: pytest.Config) -> None:
    """nbval's own: it acts only on --nbdime and the deprecated aliases (otherwise it changes nothing)."""
    option = config.option
    if option.nbdime or option.sanitize_with or option.current_env:
        from nbval import plugin

        plugin.pytest_configure(config)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A notebook is collected by nbval's collector (nbval imported here, at the first one)."""
    if file_path.suffix != ".ipynb":
        return None
    from nbval import plugin

    return plugin.pytest_collect_file(file_path=file_path, parent=parent)
