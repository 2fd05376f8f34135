"""The layers of the README's Layout section hold: imports only go down, and the HTTP service
never loads the notebook widgets (nor ipywidgets).

The import graph is grimp's (the library behind import-linter), built from the source: every
``import`` counts, at module level or inside a function, so a lazy import cannot hide a dependency.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import grimp
import pytest

#: Top to bottom, one entry per line of the README's picture; a layer may import the layers below
#: it, never one above. Names in one tuple sit side by side and may import each other, except the
#: people's layer, whose two never do.
LAYERS: list[tuple[str, ...]] = [
    ("cli",),  # the command line; `campaign-sdk serve` starts the server
    ("widgets", "server"),  # the people's layer: Jupyter and HTTP, independent of each other
    ("client", "_campaign", "_experiment_api"),
    ("sending",),
    ("delivery",),
    ("experiments",),
    ("inbox",),
    ("leads",),
    ("analytics",),
    ("service",),
    ("models", "migrations", "_store"),
    ("gateways", "testing"),  # testing/ is the simulator over HTTP (the README says so on the next line)
    ("simulator",),
    ("schemas", "templates"),
    ("phones",),
    ("facts", "_enums", "_exceptions"),
]
INDEPENDENT = {("widgets", "server")}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("campaign_sdk", cache_dir=None)


def test_every_package_of_campaign_sdk_has_a_layer(graph) -> None:
    placed = {name for layer in LAYERS for name in layer}
    tops = {module.split(".")[1] for module in graph.modules if module.count(".") >= 1}
    assert tops - placed == set(), "add the new package to LAYERS (and to the README's Layout picture)"


def test_imports_only_go_down_the_layers(graph) -> None:
    layers = [grimp.Layer(*names, independent=names in INDEPENDENT) for names in LAYERS]
    illegal = graph.find_illegal_dependencies_for_layers(layers=layers, containers={"campaign_sdk"})
    routes = sorted(
        f"{dep.importer} -> {dep.imported}: " + "; ".join(" -> ".join((*r.heads, *r.middle, *r.tails)) for r in dep.routes)
        for dep in illegal
    )
    assert routes == []


def test_the_server_imports_no_widget_module_directly_or_through_another(graph) -> None:
    assert not graph.chain_exists("campaign_sdk.server", "campaign_sdk.widgets", as_packages=True)
    assert graph.find_shortest_chain("campaign_sdk.server._content", "campaign_sdk.schemas._draft") is not None


def test_the_server_app_checks_a_draft_without_loading_ipywidgets(tmp_path) -> None:
    code = textwrap.dedent(f"""
        import json, sys
        from fastapi.testclient import TestClient
        from campaign_sdk.server import ServerSettings, create_app

        settings = ServerSettings(database_url="sqlite:///{tmp_path / 'campaigns.db'}", api_keys=("k",),
                                  media_dir="{tmp_path / 'media'}")
        with TestClient(create_app(settings)) as http:
            draft = {{"content_type": "twilio/text", "content_context": {{"body": "{{{{name}}}} hi"}}}}
            answer = http.post("/templates/validate", json=draft, headers={{"Authorization": "Bearer k"}}).json()
        print(json.dumps([answer["valid"], [w["rule"] for w in answer["warnings"]], "ipywidgets" in sys.modules]))
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    valid, warnings, loaded = json.loads(run.stdout)
    assert valid and "wa_variable_at_start" in warnings  # the draft really went through the check
    assert loaded is False
