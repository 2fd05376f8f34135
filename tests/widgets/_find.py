"""Find widgets in a widget tree by their CSS class, the way the browser test finds elements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ipywidgets as w


def walk(widget: w.Widget) -> Iterator[w.Widget]:
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def find_all(root: w.Widget, css_class: str) -> list[Any]:
    return [widget for widget in walk(root) if css_class in getattr(widget, "_dom_classes", ())]


def find(root: w.Widget, css_class: str) -> Any:
    """The one widget with ``css_class`` under ``root`` (fails if there are none or several)."""
    found = find_all(root, css_class)
    assert len(found) == 1, f"{len(found)} widgets with class {css_class!r}"
    return found[0]


def text_input(root: w.Widget, field: str) -> Any:
    """The input of ``field`` (e.g. "body"): setting its value is what typing does."""
    return find(root, f"cs-input-{field}")


def of_type(root: w.Widget, kind: type) -> list[Any]:
    return [widget for widget in walk(root) if isinstance(widget, kind)]
