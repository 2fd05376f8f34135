"""twilio/list-picker: its items, one per line as ``item | id | description``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from campaign_sdk.widgets.editors._base import Editor, textarea


class ItemsEditor(Editor):
    def get(self, required: bool) -> Any:
        items = []
        for line in self.input.value.splitlines():
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split("|")]
            item = {"item": parts[0], "id": parts[1] if len(parts) > 1 else parts[0]}
            if len(parts) > 2 and parts[2]:
                item["description"] = parts[2]
            items.append(item)
        return items if items or required else None

    def set(self, value: Any) -> None:
        lines = []
        for item in value or []:
            parts = [str(item.get("item", "")), str(item.get("id", ""))]
            if item.get("description"):
                parts.append(str(item["description"]))
            lines.append(" | ".join(parts))
        self.input.value = "\n".join(lines)


def items(on_change: Callable[[], None]) -> ItemsEditor:
    hint = "One option per line: item | id | description\nNYC | nyc | Flights to New York"
    return ItemsEditor("items", "Items (1-10)", textarea(hint), on_change)


EDITORS = {"items": items}
