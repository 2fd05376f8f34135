"""Walk the text fields of a content context (a model or its raw dict) in a fixed order.

Traversal order (it fixes how named variables are numbered): ``header_text``, ``title``,
``body``, ``subtitle``, ``footer``, ``media`` (each URL in order), ``actions`` (each action in
order, its fields in declaration order: ``title``, then ``url`` / ``phone`` / ``code`` / ``id``),
``cards`` (each card the same way), ``items``. Any other field comes after, in its own order.
Action ``type`` tags are not text and are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from campaign_sdk.schemas._issues import join_path

FIELD_ORDER = ("header_text", "title", "body", "subtitle", "footer", "media", "actions", "cards", "items")

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class TextField:
    """One string in a context: its path, its text, and the model and field that hold it."""

    path: str
    text: str
    owner: BaseModel | None
    name: str


def iter_text(obj: BaseModel | Mapping[str, Any], prefix: str = "") -> Iterator[TextField]:
    """Yield every string field of ``obj`` in traversal order; non-string values are skipped."""
    fields = _fields(obj)
    owner = obj if isinstance(obj, BaseModel) else None
    for name in _ordered(fields):
        yield from _walk(fields[name], join_path(prefix, name), owner, name)


def map_text(model: ModelT, replace: Callable[[TextField], str]) -> ModelT:
    """A copy of ``model`` with every string field replaced by ``replace(field)`` (no validation)."""
    changes = {name: _map_value(model, name, value, replace) for name, value in _fields(model).items()}
    return model.model_copy(update=changes)


def _fields(obj: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in dict(obj).items() if name != "type"}


def _ordered(fields: Mapping[str, Any]) -> list[str]:
    first = [name for name in FIELD_ORDER if name in fields]
    return first + [name for name in fields if name not in FIELD_ORDER]


def _walk(value: Any, path: str, owner: BaseModel | None, name: str) -> Iterator[TextField]:
    if isinstance(value, str):
        yield TextField(path, value, owner, name)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]", owner, name)
    elif isinstance(value, BaseModel | Mapping):
        yield from iter_text(value, path)


def _map_value(owner: BaseModel, name: str, value: Any, replace: Callable[[TextField], str]) -> Any:
    if isinstance(value, str):
        return replace(TextField(name, value, owner, name))
    if isinstance(value, list):
        return [_map_item(owner, f"{name}[{i}]", name, item, replace) for i, item in enumerate(value)]
    return value


def _map_item(owner: BaseModel, path: str, name: str, item: Any, replace: Callable[[TextField], str]) -> Any:
    if isinstance(item, str):
        return replace(TextField(path, item, owner, name))
    if isinstance(item, BaseModel):
        return map_text(item, lambda f: replace(TextField(join_path(path, f.path), f.text, f.owner, f.name)))
    return item
