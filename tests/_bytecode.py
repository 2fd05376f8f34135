"""Loaded first by pytest (``-p tests._bytecode`` in pyproject.toml's addopts), before any plugin.

Every test process (the xdist workers, the controller, a rerun) would otherwise compile campaign_sdk
and re-run pytest's assertion rewriting of every test module and of the installed pytest plugins
(schemathesis, hypothesis, anyio, nbval, ...: some 2 s of CPU per process) from source, where
PYTHONDONTWRITEBYTECODE is set (as on the engineers' machine). The run writes its caches to the
git-ignored ``__pycache__`` folders; it changes what is imported, never how. It is set here rather
than in the root conftest.py because pytest imports the plugins of its entry points before any
conftest, and ``-p`` modules before those.
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = False
