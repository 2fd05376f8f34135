"""Media files for ``twilio/media`` and ``twilio/card`` templates: Twilio's type and size rules.

From Twilio's "Guidance on WhatsApp Media Messages" and "Accepted content types for media":
WhatsApp takes images (JPEG, PNG) up to 5 MB and audio, video, documents and vCards up to 16 MB;
Twilio fetches the URL and rejects a file whose ``Content-Type`` does not match its bytes. Sizes
are checked in decimal megabytes (5,000,000 bytes), the stricter reading of "5 MB".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from campaign_sdk._exceptions import Issue, TemplateValidationError
from campaign_sdk.models import Campaign
from campaign_sdk.service._campaigns import content_of, update_campaign

_MB = 1_000_000


@dataclass(frozen=True)
class MediaType:
    """One accepted MIME type: its file extension, its size limit and its leading bytes."""

    extension: str
    max_bytes: int
    signatures: tuple[bytes, ...] = ()
    on_cards: bool = False

    def matches(self, head: bytes) -> bool:
        if not self.signatures:
            return True
        if self.extension in ("mp4", "3gp"):
            return head[4:8] == b"ftyp"
        return any(head.startswith(sig) for sig in self.signatures)


MEDIA_TYPES: dict[str, MediaType] = {
    "image/jpeg": MediaType("jpg", 5 * _MB, (b"\xff\xd8\xff",), on_cards=True),
    "image/png": MediaType("png", 5 * _MB, (b"\x89PNG\r\n\x1a\n",), on_cards=True),
    "video/mp4": MediaType("mp4", 16 * _MB, (b"ftyp",), on_cards=True),
    "application/pdf": MediaType("pdf", 16 * _MB, (b"%PDF-",), on_cards=True),
    "audio/ogg": MediaType("ogg", 16 * _MB, (b"OggS",)),
    "audio/amr": MediaType("amr", 16 * _MB, (b"#!AMR",)),
    "audio/3gpp": MediaType("3gp", 16 * _MB, (b"ftyp",)),
    "audio/aac": MediaType("aac", 16 * _MB),
    "audio/mpeg": MediaType("mp3", 16 * _MB),
    "application/msword": MediaType("doc", 16 * _MB),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": MediaType("docx", 16 * _MB),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": MediaType("pptx", 16 * _MB),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": MediaType("xlsx", 16 * _MB),
    "text/vcard": MediaType("vcf", 16 * _MB),
}
"""MIME type -> what Twilio accepts for it on WhatsApp (cards take images, MP4 and PDF only)."""

MAX_MEDIA_BYTES = max(t.max_bytes for t in MEDIA_TYPES.values())
MEDIA_CONTENT_TYPES = ("twilio/media", "twilio/card")


def check_media(mime: str, size: int, head: bytes, *, content_type: str) -> MediaType:
    """The accepted type of a file for a ``content_type`` template, or TemplateValidationError.

    ``mime`` is the declared type (parameters such as ``; charset=`` are ignored), ``size`` the
    file's length in bytes and ``head`` its first bytes (at least 16 for the signature check).

    >>> check_media("image/png", 1024, b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8), content_type="twilio/media").extension
    'png'
    """
    mime = mime.split(";", 1)[0].strip().lower()
    _require_media_template(content_type)
    kind = MEDIA_TYPES.get(mime)
    allowed = [m for m, t in MEDIA_TYPES.items() if content_type == "twilio/media" or t.on_cards]
    if kind is None or mime not in allowed:
        raise _error(content_type, "media_type_unsupported",
                     f"{mime or 'no Content-Type'} is not a media type Twilio sends on a WhatsApp "
                     f"{content_type}; send the file with one of: {', '.join(allowed)}")
    if size == 0:
        raise _error(content_type, "media_empty", "the file is empty; upload the file's bytes")
    if size > kind.max_bytes:
        raise _error(content_type, "media_too_large",
                     f"the file has {size:,} bytes; Twilio's limit for {mime} on WhatsApp is "
                     f"{kind.max_bytes // _MB} MB ({kind.max_bytes:,} bytes). Compress or resize it")
    if not kind.matches(head):
        raise _error(content_type, "media_type_mismatch",
                     f"the file's bytes are not {mime}; Twilio rejects media whose Content-Type does "
                     "not match the file. Send it with its real type")
    return kind


def attach_media(session: Session, campaign: Campaign, url: str, *, append: bool = False) -> Campaign:
    """Point the campaign's template at the media ``url`` (replacing its media, or appending to
    it), through :func:`update_campaign` so every editing rule applies."""
    _require_media_template(campaign.content_type)
    data = content_of(campaign).model_dump(mode="json", exclude_none=True)
    media = list(data.get("media") or []) if append else []
    if url not in media:
        media.append(url)
    data["media"] = media
    return update_campaign(session, campaign, content_type=campaign.content_type, content_context=data)


def _require_media_template(content_type: str) -> None:
    if content_type not in MEDIA_CONTENT_TYPES:
        raise _error(content_type, "media_not_supported",
                     f"a {content_type} template has no media; only {' and '.join(MEDIA_CONTENT_TYPES)} "
                     "templates carry files. Change the campaign's content type first")


def _error(content_type: str, rule: str, message: str) -> TemplateValidationError:
    return TemplateValidationError([Issue("media", rule, message)], content_type=content_type)
