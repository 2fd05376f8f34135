"""The widgets package: lazy (campaign_sdk alone never imports ipywidgets), pinned, documented."""

from __future__ import annotations

import subprocess
import sys

from campaign_sdk import widgets


def test_importing_campaign_sdk_does_not_import_ipywidgets() -> None:
    code = "import sys, campaign_sdk, campaign_sdk.schemas; print('ipywidgets' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert run.stdout.strip() == "False"


def test_the_public_names_are_pinned_sorted_and_documented() -> None:
    assert widgets.__all__ == ["DraftCheck", "LeadLoader", "PlanPreview", "TemplateStudio", "Variable"]
    for name in widgets.__all__:
        assert (getattr(widgets, name).__doc__ or "").strip(), name
    for name in ("save", "from_campaign", "load_template", "value", "errors", "warnings", "context"):
        assert (getattr(widgets.TemplateStudio, name).__doc__ or "").strip(), name


def test_the_limits_are_exported_by_the_schemas_package() -> None:
    from campaign_sdk import schemas

    assert {"ACTION_FIELD_LIMITS", "ACTION_TYPES", "FIELD_LIMITS"} <= set(schemas.__all__)
    assert schemas.__all__ == sorted(schemas.__all__)
