"""Per-content-type editors for the Template Studio: one module per type that needs more than the
shared text, media and buttons editors (``campaign_sdk.widgets._fields`` / ``_actions``).

Each module defines ``EDITORS``: ``field name -> factory(on_change) -> editor`` for its content
type. An editor has ``box`` (its widget), ``get(required)``, ``set(value)``, ``set_required(bool)``
and ``show(counter, errors, warnings)``. Adding a content type = its model module in
``campaign_sdk.schemas.types`` plus (when it has fields the shared editors cannot edit) one
module here, listed in :data:`TYPE_EDITORS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from campaign_sdk.widgets.editors import carousel, catalog, list_picker, location, whatsapp_authentication

Factory = Callable[[Callable[[], None]], Any]

TYPE_EDITORS: dict[str, Mapping[str, Factory]] = {
    "twilio/carousel": carousel.EDITORS,
    "twilio/catalog": catalog.EDITORS,
    "twilio/list-picker": list_picker.EDITORS,
    "twilio/location": location.EDITORS,
    "whatsapp/authentication": whatsapp_authentication.EDITORS,
}
"""content type -> its own field editors (fields not listed use the shared editors)."""
