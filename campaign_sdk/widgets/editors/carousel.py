"""twilio/carousel: its cards, edited as a JSON list (title, body, media, 1-2 buttons per card)."""

from __future__ import annotations

from collections.abc import Callable

from campaign_sdk.widgets.editors._base import JsonListEditor, textarea

HINT = (
    '[{"title": "Hoodie", "body": "Warm and soft", "media": "https://example.com/hoodie.jpg",\n'
    '  "actions": [{"type": "URL", "title": "Shop", "url": "https://example.com/shop/hoodie"}]}]'
)


def cards(on_change: Callable[[], None]) -> JsonListEditor:
    return JsonListEditor("cards", "Cards (JSON: 1-10, same buttons on each)", textarea(HINT, rows=8), on_change)


EDITORS = {"cards": cards}
