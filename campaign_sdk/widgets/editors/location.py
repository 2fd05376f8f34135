"""twilio/location: the pin's latitude and longitude."""

from __future__ import annotations

from collections.abc import Callable

from campaign_sdk.widgets.editors._base import NumberEditor


def latitude(on_change: Callable[[], None]) -> NumberEditor:
    return NumberEditor("latitude", "Latitude (-90 to 90)", "37.6213", on_change)


def longitude(on_change: Callable[[], None]) -> NumberEditor:
    return NumberEditor("longitude", "Longitude (-180 to 180)", "-122.3790", on_change)


EDITORS = {"latitude": latitude, "longitude": longitude}
