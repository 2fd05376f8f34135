"""twilio/carousel: its cards as a form, one box per card (media URL, title, body, 1-2 buttons),
with add / remove / move controls. Each card's issues are shown in its own box; the buttons reuse
the Studio's buttons editor with the carousel's button types."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import ipywidgets as w

from campaign_sdk._exceptions import Issue
from campaign_sdk.facts import content as facts
from campaign_sdk.schemas import ACTION_FIELD_LIMITS, CarouselCard
from campaign_sdk.schemas._rules import char_count
from campaign_sdk.widgets._actions import ActionsEditor
from campaign_sdk.widgets._html import counter_html, issues_html

CARD_TEXT = facts.CONTENT_API["twilio/carousel"]["card_text"].value
MAX_CARDS = facts.CAROUSEL_CARDS.value
_CARD = re.compile(r"cards\[(\d+)\](?:\.(.*))?\Z")
_NEW_CARD = {"actions": [{"type": "QUICK_REPLY"}]}


class CardForm:
    """One card: media URL, title (optional), body, and its buttons."""

    def __init__(self, editor: CardsEditor, card: Mapping[str, Any]) -> None:
        self.editor = editor
        self.heading, self.counter, self.issues = w.HTML(), w.HTML(), w.HTML()
        self.media = self._text("media", "https://example.com/images/hoodie.jpg")
        self.title = self._text("title", "card title (optional; no variables on WhatsApp)")
        self.body = w.Textarea(placeholder="card text (title and body: at most 160 characters)", rows=2,
                               continuous_update=True, layout=w.Layout(width="100%"))
        self.body.add_class("cs-card-body")
        self.body.observe(lambda _c: editor.changed(), names="value")
        self.actions = ActionsEditor(editor.changed)
        self.actions.set_allowed(CarouselCard.action_rule.allowed, True)
        self.actions.label.value = "<b>Buttons</b> (1-2, the same types in the same order on every card)"
        moves = [self._button(icon, tip, act) for icon, tip, act in (
            ("arrow-up", "Move this card left", lambda: editor.move(self, -1)),
            ("arrow-down", "Move this card right", lambda: editor.move(self, 1)),
            ("trash", "Remove this card", lambda: editor.remove(self)),
        )]
        header = w.HBox([self.heading, self.counter, *moves], layout=w.Layout(align_items="center"))
        self.issues.add_class("cs-card-issues")
        self.counter.add_class("cs-card-counter")
        self.box = w.VBox([header, self.media, self.title, self.body, self.actions.box, self.issues],
                          layout=w.Layout(border="1px solid #d1d7db", padding="4px 8px", margin="0 0 6px 0"))
        self.box.add_class("cs-card")
        self.set(card)

    def _text(self, name: str, hint: str) -> w.Text:
        text = w.Text(placeholder=hint, continuous_update=True, layout=w.Layout(width="100%"))
        text.add_class(f"cs-card-{name}")
        text.observe(lambda _c: self.editor.changed(), names="value")
        return text

    def _button(self, icon: str, tooltip: str, action: Callable[[], None]) -> w.Button:
        button = w.Button(icon=icon, tooltip=tooltip, layout=w.Layout(width="32px"))
        button.add_class(f"cs-card-{icon}")
        button.on_click(lambda _b: action())
        return button

    def set(self, card: Mapping[str, Any]) -> None:
        self.media.value = str(card.get("media") or "")
        self.title.value = str(card.get("title") or "")
        self.body.value = str(card.get("body") or "")
        actions = card.get("actions")
        self.actions.set([a for a in actions if isinstance(a, Mapping)] if isinstance(actions, list) else [])

    def value(self) -> dict[str, Any]:
        card: dict[str, Any] = {}
        if self.title.value:
            card["title"] = self.title.value
        card["body"] = self.body.value
        card["media"] = self.media.value
        card["actions"] = self.actions.get(True)
        return card

    def show(self, index: int, errors: Sequence[Issue], warnings: Sequence[Issue]) -> None:
        self.heading.value = f"<b>Card {index + 1}</b>&nbsp;"
        self.counter.value = counter_html(char_count(self.title.value) + char_count(self.body.value), CARD_TEXT)
        own = [i for i in errors if not i.field.startswith("actions")], [i for i in warnings
                                                                          if not i.field.startswith("actions")]
        self.issues.value = issues_html(*own)
        buttons = [i for i in errors if i.field.startswith("actions")]
        button_warnings = [i for i in warnings if i.field.startswith("actions")]
        self.actions.show(_action_counters(self.actions.get(True) or []), buttons, button_warnings)


class CardsEditor:
    """The ``cards`` list of a carousel (1 to 10 cards) as one form per card."""

    name = "cards"

    def __init__(self, on_change: Callable[[], None]) -> None:
        self._on_change = on_change
        self._quiet = 0
        self.cards: list[CardForm] = []
        self.label, self.issues = w.HTML(), w.HTML()
        self.issues.add_class("cs-issues-cards")
        self.list = w.VBox()
        self.add_button = w.Button(description="Add card", icon="plus", layout=w.Layout(width="120px"))
        self.add_button.add_class("cs-add-card")
        self.add_button.on_click(lambda _b: self.add(self._new_card()))
        self.box = w.VBox([self.label, self.list, self.add_button, self.issues])
        self.box.add_class("cs-field-cards")
        self.box.add_class("cs-input-cards")
        self.set_required(True)

    def changed(self) -> None:
        if not self._quiet:
            self._on_change()

    def set_required(self, required: bool) -> None:
        self.label.value = (f"<b>Cards</b> <span style='color:#667781'>(1 to {MAX_CARDS}; each: media, "
                            "text and the same buttons)</span>")

    def get(self, required: bool) -> Any:
        cards = [card.value() for card in self.cards]
        return cards if cards or required else None

    def set(self, value: Any) -> None:
        self._quiet += 1
        try:
            cards = value if isinstance(value, list) else []
            self.cards = [CardForm(self, card if isinstance(card, Mapping) else {}) for card in cards]
            self.list.children = [card.box for card in self.cards]
        finally:
            self._quiet -= 1

    def _new_card(self) -> dict[str, Any]:
        """A new card copies the last card's button types (the carousel needs the same layout)."""
        if not self.cards:
            return dict(_NEW_CARD)
        layout = [{"type": action["type"]} for action in self.cards[-1].actions.get(True) or []]
        return {"actions": layout or _NEW_CARD["actions"]}

    def add(self, card: Mapping[str, Any]) -> None:
        self._quiet += 1
        try:
            self.cards.append(CardForm(self, card))
        finally:
            self._quiet -= 1
        self.list.children = [c.box for c in self.cards]
        self.changed()

    def remove(self, card: CardForm) -> None:
        self.cards.remove(card)
        self.list.children = [c.box for c in self.cards]
        self.changed()

    def move(self, card: CardForm, step: int) -> None:
        index = self.cards.index(card)
        target = min(max(index + step, 0), len(self.cards) - 1)
        self.cards.insert(target, self.cards.pop(index))
        self.list.children = [c.box for c in self.cards]
        self.changed()

    def show(self, counter: tuple[int, int] | None, errors: Sequence[Issue], warnings: Sequence[Issue]) -> None:
        for index, card in enumerate(self.cards):
            card.show(index, _for_card(errors, index), _for_card(warnings, index))
        placed = {id(i) for i in errors if _CARD.match(i.field)} | {id(i) for i in warnings if _CARD.match(i.field)}
        rest = [i for i in errors if id(i) not in placed], [i for i in warnings if id(i) not in placed]
        # A card's issues are also listed under the cards, with the card named, so one box says it all.
        listed = [i for i in errors if id(i) in placed], [i for i in warnings if id(i) in placed]
        self.issues.value = issues_html(rest[0] + listed[0], rest[1] + listed[1])
        self.add_button.disabled = len(self.cards) >= MAX_CARDS


def _for_card(issues: Sequence[Issue], index: int) -> list[Issue]:
    """The issues of card ``index``, their field made relative to the card (``actions[0].title``)."""
    mine = []
    for issue in issues:
        match = _CARD.match(issue.field)
        if match and int(match.group(1)) == index:
            mine.append(replace(issue, field=match.group(2) or "card"))
    return mine


def _action_counters(actions: Sequence[Mapping[str, Any]]) -> dict[str, tuple[int, int]]:
    found = {}
    for index, action in enumerate(actions):
        for name, limit in ACTION_FIELD_LIMITS.get(str(action.get("type")), {}).items():
            if isinstance(text := action.get(name), str):
                found[f"actions[{index}].{name}"] = (char_count(text), limit)
    return found


def cards(on_change: Callable[[], None]) -> CardsEditor:
    return CardsEditor(on_change)


EDITORS = {"cards": cards}
