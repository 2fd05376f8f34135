from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaign_sdk._exceptions import TemplateValidationError
from campaign_sdk.schemas import (
    TwilioCallToActionContext,
    TwilioCardContext,
    TwilioQuickReplyContext,
    TwilioTextContext,
    compile_variables,
    find_variables,
    preview_text,
    render_preview,
)

from ._factories import copy_code, quick_reply, url_button

CARD = TwilioCardContext(
    title="Hello {{lead_name}}, code {{code}}",
    subtitle="Reply STOP to opt out",
    media=["https://example.com/img/{{image}}"],
    actions=[url_button(title="Open", url="https://example.com/c/{{cart}}"), copy_code(code="{{code}}")],
)


class TestCompileVariables:
    def test_numbers_in_traversal_order(self) -> None:
        compiled = compile_variables(CARD)
        assert compiled.mapping == {"lead_name": "1", "code": "2", "image": "3", "cart": "4"}
        assert list(compiled.mapping) == ["lead_name", "code", "image", "cart"]
        assert compiled.context.title == "Hello {{1}}, code {{2}}"
        assert compiled.context.media == ["https://example.com/img/{{3}}"]
        assert compiled.context.actions is not None
        assert compiled.context.actions[0].to_twilio()["url"] == "https://example.com/c/{{4}}"
        assert compiled.context.actions[1].to_twilio()["code"] == "{{2}}"

    def test_title_comes_before_body_order_of_declaration(self) -> None:
        cta = TwilioCallToActionContext(
            body="Hi {{b}} and {{a}}", actions=[url_button(url="https://e.com/{{c}}")]
        )
        assert compile_variables(cta).mapping == {"b": "1", "a": "2", "c": "3"}

    def test_keeps_the_same_model_type(self) -> None:
        assert type(compile_variables(CARD).context) is TwilioCardContext

    def test_numbered_template_passes_through(self) -> None:
        text = TwilioTextContext(body="Hi {{1}}, order {{2}} ships {{1}}")
        compiled = compile_variables(text)
        assert compiled.mapping == {"1": "1", "2": "2"}
        assert compiled.context == text

    def test_gapped_numbers_are_kept_for_the_lint_to_report(self) -> None:
        assert compile_variables(TwilioTextContext(body="{{3}} and {{1}}")).mapping == {"3": "3", "1": "1"}

    def test_names_take_the_lowest_free_numbers(self) -> None:
        text = TwilioTextContext(body="{{2}} {{name}} {{other}}")
        assert compile_variables(text).mapping == {"2": "2", "name": "1", "other": "3"}

    def test_no_variables(self) -> None:
        compiled = compile_variables(TwilioTextContext(body="Hello"))
        assert compiled.mapping == {}
        assert compiled.to_json({}) == "{}"

    def test_original_is_not_changed(self) -> None:
        before = CARD.model_dump()
        compile_variables(CARD)
        assert CARD.model_dump() == before


class TestContentVariables:
    compiled = compile_variables(TwilioTextContext(body="Hi {{lead_name}}, order {{order_id}} is ready"))

    def test_values_are_keyed_by_number(self) -> None:
        values = {"order_id": "A-7", "lead_name": "Ana", "unused": "x"}
        assert self.compiled.content_variables(values) == {"1": "Ana", "2": "A-7"}

    def test_to_json_is_a_json_string(self) -> None:
        payload = self.compiled.to_json({"lead_name": "Zoë", "order_id": "7"})
        assert isinstance(payload, str)
        assert json.loads(payload) == {"1": "Zoë", "2": "7"}

    @pytest.mark.parametrize(
        ("values", "expected"),
        [
            ({"lead_name": "Ana"}, [("order_id", "missing_value")]),
            (
                {"lead_name": "", "order_id": "  "},
                [("lead_name", "empty_value"), ("order_id", "empty_value")],
            ),
            ({"lead_name": "Ana", "order_id": "x" * 1601}, [("order_id", "value_too_long")]),
        ],
    )
    def test_missing_empty_or_long_values_fail_before_sending(
        self, values: dict[str, str], expected: list[tuple[str, str]]
    ) -> None:
        with pytest.raises(TemplateValidationError) as info:
            self.compiled.content_variables(values)
        assert [(i.field, i.rule) for i in info.value.issues] == expected
        if expected[0][1] != "value_too_long":
            assert "21656" in str(info.value)


class TestRenderPreview:
    text = TwilioTextContext(body="Hi {{lead_name}}, your code is {{code}}.")

    def test_fills_every_field(self) -> None:
        rendered = render_preview(CARD, {"lead_name": "Ana", "code": "X1", "image": "a.png", "cart": "c9"})
        assert rendered.title == "Hello Ana, code X1"
        assert rendered.media == ["https://example.com/img/a.png"]
        assert rendered.actions is not None
        assert [a.to_twilio().get("url", a.to_twilio().get("code")) for a in rendered.actions] == [
            "https://example.com/c/c9",
            "X1",
        ]

    def test_missing_values_raise_by_default(self) -> None:
        with pytest.raises(TemplateValidationError) as info:
            render_preview(self.text, {"lead_name": "Ana", "code": ""})
        assert [(i.field, i.rule) for i in info.value.issues] == [("body", "missing_value")]
        assert "{{code}}" in str(info.value)

    @pytest.mark.parametrize(
        ("missing", "body"),
        [("keep", "Hi Ana, your code is {{code}}."), ("mark", "Hi Ana, your code is [missing: code].")],
    )
    def test_missing_modes(self, missing: str, body: str) -> None:
        assert render_preview(self.text, {"lead_name": "Ana"}, missing=missing).body == body  # type: ignore[arg-type]

    def test_rendered_text_over_1024_characters_is_reported(self) -> None:
        with pytest.raises(TemplateValidationError) as info:
            render_preview(self.text, {"lead_name": "A" * 1010, "code": "X"})
        assert info.value.rules == ["rendered_too_long"]
        assert "63021" in str(info.value)

    def test_rendered_text_at_1024_characters_passes(self) -> None:
        name = "A" * (1024 - len("Hi , your code is X."))
        assert len(render_preview(self.text, {"lead_name": name, "code": "X"}).body) == 1024

    def test_rendered_field_limits_apply_to_other_fields(self) -> None:
        quick = TwilioQuickReplyContext(body="Is {{slot}} fine for you?", actions=[quick_reply()])
        with pytest.raises(TemplateValidationError) as info:
            render_preview(quick, {"slot": "x" * 1024})
        assert [(i.field, i.rule) for i in info.value.issues] == [("body", "rendered_too_long")]

    def test_other_modes_do_not_check_rendered_length(self) -> None:
        assert len(render_preview(self.text, {"lead_name": "A" * 1100}, missing="keep").body) > 1024

    def test_original_is_not_changed(self) -> None:
        render_preview(self.text, {"lead_name": "Ana", "code": "X"})
        assert self.text.body == "Hi {{lead_name}}, your code is {{code}}."


def test_preview_text_lists_title_body_media_subtitle_and_buttons() -> None:
    values = {"lead_name": "Ana", "code": "X1", "image": "a.png", "cart": "c9"}
    assert preview_text(CARD, values) == "\n".join(
        [
            "Hello Ana, code X1",
            "https://example.com/img/a.png",
            "Reply STOP to opt out",
            "[ Open ]",
            "[ Copy Code ]",
        ]
    )


def test_preview_text_passes_options_on() -> None:
    assert (
        preview_text(TwilioTextContext(body="Hi {{x}} there"), {}, missing="mark") == "Hi [missing: x] there"
    )


KEYS = st.sampled_from(["lead_name", "order_id", "x", "code_2", "A"])
WORDS = st.text(alphabet="abcdefghij .,!", min_size=1, max_size=8)
TOKENS = st.lists(st.one_of(WORDS, KEYS.map(lambda key: "{{" + key + "}}")), min_size=1, max_size=30)
VALUES = st.dictionaries(KEYS, st.text(min_size=1, max_size=20).filter(str.strip), max_size=5)


@given(tokens=TOKENS, values=VALUES)
def test_compile_then_render_equals_render(tokens: list[str], values: dict[str, str]) -> None:
    context = TwilioTextContext(body=" ".join(tokens))
    compiled = compile_variables(context)
    numbered_values = {
        compiled.mapping[key]: value for key, value in values.items() if key in compiled.mapping
    }
    direct = render_preview(context, values, missing="mark").body
    via_numbers = render_preview(compiled.context, numbered_values, missing="keep").body
    for name, number in compiled.mapping.items():
        if name not in values:
            via_numbers = via_numbers.replace("{{" + number + "}}", f"[missing: {name}]")
    assert via_numbers == direct


@given(tokens=TOKENS)
def test_compiled_numbers_are_1_to_n_in_order_of_first_appearance(tokens: list[str]) -> None:
    context = TwilioTextContext(body=" ".join(tokens))
    compiled = compile_variables(context)
    assert list(compiled.mapping) == list(dict.fromkeys(find_variables(context.body)))
    assert list(compiled.mapping.values()) == [str(n) for n in range(1, len(compiled.mapping) + 1)]
