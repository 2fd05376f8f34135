"""A WhatsApp-style chat bubble for a template with a lead's values filled in (plain HTML + CSS).

Media are drawn as placeholders (the notebook may not reach the URLs); WhatsApp's ``*bold*``,
``_italic_``, ``~strike~`` and ```` ```mono``` ```` are applied as WhatsApp does.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from campaign_sdk.schemas import ContentContext, preview_text, render_preview

_STYLES = (
    (re.compile(r"```(.+?)```", re.DOTALL), r'<span style="font-family:monospace">\1</span>'),
    (re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])"), r"<b>\1</b>"),
    (re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])"), r"<i>\1</i>"),
    (re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])"), r"<s>\1</s>"),
)
_MISSING = re.compile(r"\[missing: (\w+)\]")
_SVG = (
    '<svg width="14" height="14" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" '
    'stroke-linecap="round" stroke-linejoin="round" style="vertical-align:-2px">{}</svg>'
)
_PHONE = _SVG.format(
    '<path d="M5 4h4l2 5-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2"/>'
)
_ICONS = {
    "URL": _SVG.format('<path d="M14 4h6v6M20 4l-9 9M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5"/>'),
    "PHONE_NUMBER": _PHONE,
    "VOICE_CALL": _PHONE,
    "COPY_CODE": _SVG.format('<rect x="9" y="9" width="11" height="11" rx="2"/><path d="M5 15V5a1 1 0 0 1 1-1h9"/>'),
    "QUICK_REPLY": _SVG.format('<path d="M9 14L4 9l5-5M4 9h10a6 6 0 0 1 0 12h-2"/>'),
}
# Inline SVG, not emoji: a notebook's browser may have no emoji font.
_PICTURE = (
    '<svg width="40" height="40" viewBox="0 0 24 24" fill="none" stroke="#54656f" stroke-width="1.6">'
    '<rect x="3" y="4" width="18" height="16" rx="2"/><circle cx="9" cy="10" r="2"/>'
    '<path d="M3 17l5-5 4 4 3-3 6 6"/></svg>'
)

_FONT = "font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif"
_CHAT = f"background:#efeae2;padding:0 0 14px 0;border-radius:10px;width:330px;overflow:hidden;{_FONT}"
_HEADER = (
    '<div style="background:#008069;color:#fff;padding:8px 12px;font-size:14px;font-weight:600;'
    'margin-bottom:12px">Your business <span style="font-weight:400;opacity:.8;font-size:12px">'
    "· {} preview</span></div>"
)
_CHANNELS = {"whatsapp": "WhatsApp", "sms": "SMS"}
_BUBBLE = (
    "background:#fff;border-radius:0 8px 8px 8px;box-shadow:0 1px 0.5px rgba(11,20,26,.13);"
    "padding:6px 8px 6px 9px;color:#111b21;font-size:14.2px;line-height:19px;max-width:300px"
)
_BUTTON = (
    "background:#fff;border-radius:8px;box-shadow:0 1px 0.5px rgba(11,20,26,.13);margin-top:3px;"
    "padding:8px;text-align:center;color:#027eb5;font-size:14px;max-width:300px;box-sizing:border-box"
)


def bubble_html(
    context: ContentContext, sample: Mapping[str, Any] | None = None, *, note: str = "", stale: bool = False,
    time: str | None = None, channel: str = "whatsapp",
) -> str:
    """The message as WhatsApp shows it, with ``sample``'s values filled in (missing ones marked).

    ``stale`` dims the bubble and shows ``note`` above it (the draft has changed since).
    ``time`` is the clock under the message (``"HH:MM"``: the recipient's local arrival time);
    None shows no clock (a draft arrives at no particular time). ``channel`` names the preview
    in its header (``whatsapp`` or ``sms``).

    >>> from campaign_sdk.schemas import TwilioTextContext
    >>> "Hi <b>Ana</b>" in bubble_html(TwilioTextContext(body="Hi *{{lead_name}}*"), {"lead_name": "Ana"})
    True
    >>> "09:30" in bubble_html(TwilioTextContext(body="Hi"), time="09:30")
    True
    """
    rendered = render_preview(context, _strings(sample), missing="mark")
    parts = _parts(rendered, _strings(sample))
    if time is not None:
        parts.append('<div class="cs-bubble-time" style="text-align:right;color:#667781;font-size:11px;'
                     f'margin-top:-2px">{html.escape(time)}</div>')
    header = _HEADER.format(_CHANNELS.get(channel, html.escape(channel)))
    buttons = "".join(_button(action) for action in _buttons(rendered))
    if button := getattr(rendered, "button", None):  # list picker: the button that opens the list
        buttons += _list(button, getattr(rendered, "items", None) or [])
    if rendered.content_type == "twilio/catalog":
        buttons += f'<div class="cs-bubble-button" style="{_BUTTON}">{_ICONS["URL"]} View items</div>'
    cards = _cards(getattr(rendered, "cards", None) or [])
    opacity = "0.45" if stale else "1"
    banner = (
        f'<div class="cs-preview-note" style="font-size:12px;line-height:1.35;color:#a15c00;'
        f'margin:0 12px 8px 12px">{html.escape(note)}</div>'
    )
    return (
        f'<div class="cs-chat" style="{_CHAT}">{header}{banner if note else ""}'
        f'<div style="opacity:{opacity};margin:0 12px"><div class="cs-bubble" style="{_BUBBLE}">'
        f'{"".join(parts)}</div>{buttons}{cards}</div></div>'
    )


def _parts(rendered: Any, sample: Mapping[str, str]) -> list[str]:
    if rendered.content_type == "whatsapp/authentication":  # WhatsApp presets the text
        text = preview_text(rendered, {"otp": sample.get("otp", "123456")})
        return [f'<div class="cs-bubble-body">{_text(chr(10).join(text.splitlines()[:-1]))}</div>']
    parts = [_media(url) for url in getattr(rendered, "media", None) or [] if isinstance(url, str)]
    if isinstance(getattr(rendered, "latitude", None), int | float):
        parts.append(_pin(rendered.latitude, rendered.longitude))
    for name, style in (("header_text", "font-weight:600"), ("title", "font-weight:600"), ("body", ""),
                        ("label", "font-weight:600"), ("address", "color:#667781;font-size:13px")):
        if isinstance(value := getattr(rendered, name, None), str) and value:
            css = "cs-bubble-title" if name in ("title", "header_text") else "cs-bubble-body"
            parts.append(f'<div class="{css}" style="{style}">{_text(value)}</div>')
    for name in ("subtitle", "footer"):
        if isinstance(value := getattr(rendered, name, None), str) and value:
            parts.append(f'<div style="color:#667781;font-size:13px;margin-top:2px">{_text(value)}</div>')
    return parts


def _buttons(rendered: Any) -> list[Any]:
    if rendered.content_type == "whatsapp/authentication":
        return [_Button("COPY_CODE", action.copy_code_text) for action in rendered.actions]
    return list(getattr(rendered, "actions", None) or [])


class _Button:
    def __init__(self, type_: str, title: str) -> None:
        self.type, self.title = type_, title


def _cards(cards: list[Any]) -> str:
    if not cards:
        return ""
    shown = []
    for card in cards:
        inner = _media(card.media) + "".join(
            f'<div style="{style}">{_text(text)}</div>'
            for text, style in ((card.title, "font-weight:600"), (card.body, "")) if text
        )
        buttons = "".join(
            f'<div style="border-top:1px solid #e9edef;padding:6px;text-align:center;color:#027eb5">'
            f'{_ICONS.get(a.type, "")} {html.escape(a.title)}</div>' for a in card.actions
        )
        shown.append(f'<div class="cs-bubble-card" style="{_BUBBLE};min-width:210px;border-radius:8px">{inner}{buttons}</div>')
    return f'<div class="cs-bubble-cards" style="display:flex;gap:6px;overflow-x:auto;margin-top:4px">{"".join(shown)}</div>'


def _list(button: str, items: list[Any]) -> str:
    rows = "".join(
        f'<div style="padding:3px 0;border-top:1px solid #e9edef">{html.escape(item.item)}'
        + (f'<div style="color:#667781;font-size:12px">{html.escape(item.description)}</div>' if item.description else "")
        + "</div>" for item in items
    )
    return (f'<div class="cs-bubble-button" style="{_BUTTON}">☰ {html.escape(button)}</div>'
            f'<div class="cs-bubble-list" style="{_BUBBLE};margin-top:3px;font-size:13px">{rows}</div>')


def _pin(latitude: float, longitude: float) -> str:
    return (
        '<div class="cs-bubble-location" style="background:#dfe8d8;border-radius:6px;height:110px;'
        'margin:-2px -4px 6px -5px;display:flex;align-items:center;justify-content:center;color:#c62828;'
        f'font-size:13px">📍 {latitude:.4f}, {longitude:.4f}</div>'
    )


def placeholder_html(message: str) -> str:
    """The chat background with ``message`` instead of a bubble (nothing valid to show yet)."""
    return (
        f'<div class="cs-chat" style="{_CHAT}">{_HEADER.format("WhatsApp")}<div class="cs-preview-note" style="color:#667781;'
        f'font-size:13px;line-height:1.35;text-align:center;padding:24px 18px">{html.escape(message)}</div></div>'
    )


def _strings(sample: Mapping[str, Any] | None) -> dict[str, str]:
    return {key: str(value) for key, value in (sample or {}).items() if value is not None}


def _text(text: str) -> str:
    escaped = html.escape(text)
    for pattern, replacement in _STYLES:
        escaped = pattern.sub(replacement, escaped)
    escaped = _MISSING.sub(
        r'<span title="no value in this sample" style="background:#ffe9a8;border-radius:3px;'
        r'padding:0 2px">{{\1}}</span>',
        escaped,
    )
    return escaped.replace("\n", "<br>")


def _media(url: str) -> str:
    name = url.rstrip("/").rsplit("/", 1)[-1] or url
    return (
        '<div class="cs-bubble-media" style="background:#d1d7db;border-radius:6px;height:150px;'
        "margin:-2px -4px 6px -5px;display:flex;flex-direction:column;align-items:center;"
        f'justify-content:center;color:#54656f">{_PICTURE}'
        f'<div style="font-size:12px;max-width:260px;overflow:hidden;text-overflow:ellipsis;'
        f'white-space:nowrap">{html.escape(name)}</div></div>'
    )


def _button(action: Any) -> str:
    icon = _ICONS.get(action.type, "")
    return f'<div class="cs-bubble-button" style="{_BUTTON}">{icon} {html.escape(action.title)}</div>'
