"""A real browser drives the Template Studio: Voila serves a notebook on 127.0.0.1, Playwright
drives Debian's Chromium, types an over-long body, sees the error and the counter, fixes it, sees
the preview update and saves into a real SQLite file. Screenshots go to test-artifacts/."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from campaign_sdk import CampaignClient

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
NOTEBOOK = """\
from campaign_sdk import CampaignClient
from campaign_sdk.widgets import TemplateStudio

client = CampaignClient({url!r})
studio = TemplateStudio(template="order_confirmation", client=client)
studio"""
TOO_LONG = "Hi {{lead_name}}, " + "our spring sale starts today with new arrivals in every store. " * 26
FIXED = "Hi {{lead_name}}, your order {{order_id}} is packed and leaves our warehouse today."


@pytest.fixture
def studio_page(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Voila serving a one-cell notebook with a TemplateStudio; yields (page URL, store URL)."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's Chromium at /usr/bin/chromium: apt-get update && apt-get install -y chromium")
    import nbformat  # here, not at collection: it imports jsonschema, over a second of CPU (see tests/_notebooks.py)

    store = f"sqlite:///{tmp_path / 'campaigns.db'}"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK.format(url=store))])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "studio.ipynb")
    port = _free_port()
    with open(tmp_path / "voila.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "voila", "studio.ipynb", "--no-browser", f"--port={port}",
             "--Voila.ip=127.0.0.1"],
            cwd=tmp_path, env=_jupyter_env(tmp_path), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_for(port, server, tmp_path / "voila.log")
            yield f"http://127.0.0.1:{port}/", store
        finally:
            _stop(server)


def test_typing_shows_errors_and_counters_and_the_fixed_template_saves(studio_page) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, store = studio_page
    expect.set_options(timeout=15_000)  # each check waits for a kernel round trip
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url)
            body = page.locator(".cs-input-body textarea")
            body.wait_for(timeout=60_000)  # the kernel starts and runs the notebook first
            counter, issues = page.locator(".cs-counter-body"), page.locator(".cs-issues-body")
            preview = page.locator(".cs-preview")
            expect(preview.locator(".cs-bubble-body")).to_contain_text("Hi Ana, thank you for your order A-1042")

            body.fill(TOO_LONG)
            body.press("End")
            body.press_sequentially("!!")  # real keystrokes, each one validated
            long_length = len(TOO_LONG) + 2
            expect(counter).to_have_text(f"{long_length:,} / 1,600 ✖")
            expect(issues).to_contain_text(f"body is {long_length:,} characters; Twilio allows at most 1,600")
            expect(issues).to_contain_text("[max_length]")
            expect(page.locator(".cs-status")).to_contain_text("1 problem(s)")
            expect(preview.locator(".cs-preview-note")).to_contain_text("Showing the last valid version")

            page.locator(".cs-template-studio input[placeholder='campaign name']").fill("Browser test")
            page.locator(".cs-save").click()
            expect(page.locator(".cs-save-result")).to_contain_text("Not saved: fix these first.")
            expect(page.locator(".cs-save-result")).to_contain_text("[max_length]")
            page.screenshot(path=str(ARTIFACTS / "template_studio_error.png"), full_page=True)

            body.fill(FIXED)
            expect(counter).to_have_text(f"{len(FIXED):,} / 1,600")
            expect(issues).to_have_text("")
            expect(preview.locator(".cs-preview-note")).to_have_count(0)
            expect(preview.locator(".cs-bubble-body")).to_have_text(
                "Hi Ana, your order A-1042 is packed and leaves our warehouse today."
            )
            page.locator(".cs-save").click()
            expect(page.locator(".cs-save-result")).to_contain_text("Saved to campaign 'Browser test'")
            page.screenshot(path=str(ARTIFACTS / "template_studio_fixed.png"), full_page=True)
        finally:
            browser.close()

    with CampaignClient(store) as client:
        assert client.campaign("Browser test").content.body == FIXED


def test_the_new_content_types_are_edited_and_previewed_in_the_browser(studio_page) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, store = studio_page
    expect.set_options(timeout=15_000)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url)
            page.locator(".cs-input-body textarea").wait_for(timeout=60_000)
            start, preview = page.locator(".cs-start select"), page.locator(".cs-preview")

            start.select_option(label="New arrivals (carousel) (twilio/carousel)")
            expect(preview.locator(".cs-bubble-card")).to_have_count(3)
            expect(preview.locator(".cs-bubble-body").first).to_contain_text("Hi Ana, our new collection")
            cards = page.locator(".cs-card")
            expect(cards).to_have_count(3)
            first = cards.nth(0)
            expect(first.locator(".cs-card-title input")).to_have_value("Hoodie")
            expect(first.locator(".cs-card-media input")).to_have_value(re.compile(r"^https://.+\.jpg$"))
            # one card's text over 160 characters (title and body together): the error sits on that card
            second_body = cards.nth(1).locator(".cs-card-body textarea")
            second_body.fill("x" * 161)
            expect(cards.nth(1).locator(".cs-card-issues")).to_contain_text("[max_length]")
            expect(cards.nth(1).locator(".cs-card-counter")).to_contain_text("/ 160 ✖")
            second_body.fill("Carry a little more")
            expect(cards.nth(1).locator(".cs-card-issues")).to_have_text("")
            # another button type on the first card breaks the same-layout rule
            first.locator(".cs-action-type select").first.select_option(label="Quick reply")
            expect(page.locator(".cs-issues-cards")).to_contain_text("[carousel_layout]")
            page.screenshot(path=str(ARTIFACTS / "template_studio_carousel.png"), full_page=True)
            first.locator(".cs-action-type select").first.select_option(label="Open URL")
            # the kernel rebuilds the button's field for the new type: wait for the URL input itself
            first.locator(".cs-action-detail input[placeholder^='https://']").fill("https://example.com/shop/hoodie")
            expect(page.locator(".cs-issues-cards")).to_have_text("")
            # add a fourth card: it brings the same button types; filled in, the preview shows it
            page.locator(".cs-add-card").click()
            expect(cards).to_have_count(4)
            fourth = cards.nth(3)
            fourth.locator(".cs-card-media input").fill("https://example.com/images/cap.jpg")
            fourth.locator(".cs-card-body textarea").fill("Keep the sun out")
            fourth.locator(".cs-action-title input").first.fill("Shop")
            fourth.locator(".cs-action-detail input").first.fill("https://example.com/shop/cap")
            expect(preview.locator(".cs-bubble-card")).to_have_count(4)
            expect(preview).to_contain_text("Keep the sun out")
            page.locator(".cs-template-studio input[placeholder='campaign name']").fill("Carousel")
            page.locator(".cs-save").click()
            expect(page.locator(".cs-save-result")).to_contain_text("Saved to campaign 'Carousel'")
            page.screenshot(path=str(ARTIFACTS / "template_studio_carousel_saved.png"), full_page=True)
            with CampaignClient(store) as client:  # what the form saved (the next save updates this campaign)
                saved = client.campaign("Carousel").content
                assert [card.body for card in saved.cards][-1] == "Keep the sun out"
                assert saved.cards[-1].actions[0].url == "https://example.com/shop/cap"

            start.select_option(label="Login code (authentication) (whatsapp/authentication)")
            expect(preview).to_contain_text("is your verification code. For your security, do not share this code.")
            expect(preview).to_contain_text("This code expires in 10 minutes.")
            expiry = page.locator(".cs-input-code_expiration_minutes input")
            expiry.fill("91")
            expect(page.locator(".cs-issues-code_expiration_minutes")).to_contain_text("[out_of_range]")
            expiry.fill("45")
            expect(page.locator(".cs-issues-code_expiration_minutes")).to_have_text("")
            expect(preview).to_contain_text("This code expires in 45 minutes.")
            page.locator(".cs-template-studio input[placeholder='campaign name']").fill("OTP")
            page.locator(".cs-campaign-type select").select_option("service")
            page.locator(".cs-save").click()
            expect(page.locator(".cs-save-result")).to_contain_text("Saved to campaign 'OTP'")
            page.screenshot(path=str(ARTIFACTS / "template_studio_authentication.png"), full_page=True)
        finally:
            browser.close()

    with CampaignClient(store) as client:
        assert client.campaign("OTP").content.code_expiration_minutes == 45


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _jupyter_env(home: Path) -> dict[str, str]:
    """Jupyter's config, data and runtime dirs inside ``home``, and a python3 kernel that is this
    interpreter (JUPYTER_PATH comes first, so no kernel installed elsewhere is picked up)."""
    kernel = home / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3", "language": "python"}
    (kernel / "kernel.json").write_text(json.dumps(spec))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "TWILIO_"))}
    env.update(
        JUPYTER_PATH=str(home / "jupyter"), JUPYTER_CONFIG_DIR=str(home / "jupyter-config"),
        JUPYTER_DATA_DIR=str(home / "jupyter-data"), JUPYTER_RUNTIME_DIR=str(home / "jupyter-runtime"),
        IPYTHONDIR=str(home / "ipython"),
    )
    return env


def _wait_for(port: int, server: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"voila exited with {server.returncode}:\n{log.read_text()}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("HEAD", "/api")  # any answer means the server is up
            connection.getresponse()
            return
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()
    pytest.fail(f"voila did not answer on port {port} within {timeout:.0f} s:\n{log.read_text()}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop voila and the kernel it started (its own process group, started by this test)."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    try:
        os.killpg(server.pid, signal.SIGKILL)  # a kernel left behind, if any
    except ProcessLookupError:
        pass
