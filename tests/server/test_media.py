"""Media upload for twilio/media and twilio/card templates: Twilio's type and size limits."""

from __future__ import annotations

import hashlib

import httpx

from campaign_sdk.service import MEDIA_TYPES

from .conftest import PUBLIC_URL, unique

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.7\n" + b"x" * 100


def media_campaign(api, content_type: str = "twilio/media") -> dict:
    context = (
        {"body": "Your receipt {{lead_name}} is attached to this message.", "media": ["https://example.com/a.png"]}
        if content_type == "twilio/media"
        else {"title": "New arrivals {{lead_name}}", "subtitle": "Reply STOP to opt out"}
    )
    response = api.post("/campaigns", json={"name": unique(), "content_type": content_type, "content_context": context})
    assert response.status_code == 201, response.text
    return response.json()


def upload(api, campaign_id: int, data: bytes, mime: str, **params) -> httpx.Response:
    return api.post(f"/campaigns/{campaign_id}/media", content=data, headers={"Content-Type": mime}, params=params)


def media_of(server, campaign_id: int) -> list[str]:
    return list(server.client.campaign(campaign_id).content.media or [])


def test_upload_stores_the_file_and_points_the_template_at_it(api, anon, server) -> None:
    made = media_campaign(api)
    response = upload(api, made["id"], PNG, "image/png")
    assert response.status_code == 201, response.text
    body = response.json()
    name = hashlib.sha256(PNG).hexdigest()[:32] + ".png"
    assert body["url"] == f"{PUBLIC_URL}/media/{name}" and body["size"] == len(PNG)
    assert media_of(server, made["id"]) == [body["url"]] == body["media"]
    served = anon.get(f"/media/{name}")  # public: Twilio fetches it without a key
    assert served.status_code == 200 and served.content == PNG and served.headers["content-type"] == "image/png"
    appended = upload(api, made["id"], PDF, "application/pdf", append="true").json()
    assert media_of(server, made["id"]) == [body["url"], appended["url"]]
    assert anon.get("/media/../../etc/passwd").status_code == 404


def test_card_takes_images_but_not_audio(api, server) -> None:
    made = media_campaign(api, "twilio/card")
    assert upload(api, made["id"], PNG, "image/png").status_code == 201
    refused = upload(api, made["id"], b"OggS" + b"\x00" * 50, "audio/ogg")
    assert refused.status_code == 415 and refused.json()["issues"][0]["rule"] == "media_type_unsupported"


def test_limits_are_twilios_and_refusals_change_nothing(api, server) -> None:
    made = media_campaign(api)
    before = media_of(server, made["id"])
    media_dir = server.app.state.settings.media_dir
    files_before = sorted(p.name for p in media_dir.iterdir()) if media_dir.exists() else []
    big_png = PNG + b"\x00" * (MEDIA_TYPES["image/png"].max_bytes - len(PNG) + 1)
    cases = {
        "media_too_large": upload(api, made["id"], big_png, "image/png"),
        "media_type_unsupported": upload(api, made["id"], b"GIF89a....", "image/gif"),
        "media_type_mismatch": upload(api, made["id"], PDF, "image/png"),
        "media_empty": upload(api, made["id"], b"", "image/png"),
    }
    assert cases["media_too_large"].status_code == 413 and "5 MB" in cases["media_too_large"].json()["detail"]
    assert cases["media_type_unsupported"].status_code == 415
    for rule, response in cases.items():
        assert response.json()["issues"][0]["rule"] == rule, response.text
    assert media_of(server, made["id"]) == before
    assert (sorted(p.name for p in media_dir.iterdir()) if media_dir.exists() else []) == files_before


def test_text_templates_and_submitted_templates_refuse_media(api, server) -> None:
    text = api.post("/campaigns", json={"name": unique(), "template": "order_confirmation"}).json()
    refused = upload(api, text["id"], PNG, "image/png")
    assert refused.status_code == 422 and refused.json()["issues"][0]["rule"] == "media_not_supported"
    made = media_campaign(api)
    approval = {"category": "MARKETING", "samples": {"lead_name": "Ana"}}
    assert api.post(f"/campaigns/{made['id']}/submit-for-approval", json=approval).status_code == 200
    unique_png = PNG + b"submitted"
    frozen = upload(api, made["id"], unique_png, "image/png")
    assert frozen.status_code == 409
    name = hashlib.sha256(unique_png).hexdigest()[:32] + ".png"
    assert not (server.app.state.settings.media_dir / name).exists()
    assert upload(api, 999999, PNG, "image/png").status_code == 404
