"""twilio/catalog: the products, one Meta catalog item id per line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from campaign_sdk.widgets.editors._base import Editor, textarea


class ProductsEditor(Editor):
    def get(self, required: bool) -> Any:
        ids = [line.strip() for line in self.input.value.splitlines() if line.strip()]
        return [{"id": item} for item in ids] if ids or required else None

    def set(self, value: Any) -> None:
        self.input.value = "\n".join(str(item.get("id", "")) for item in value or [])


def items(on_change: Callable[[], None]) -> ProductsEditor:
    return ProductsEditor("items", "Products (catalog item ids, one per line)", textarea("sku-1\nsku-2", rows=3), on_change)


EDITORS = {"items": items}
