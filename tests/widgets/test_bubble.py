"""The WhatsApp-style preview: what is drawn, escaped and marked."""

from __future__ import annotations

from campaign_sdk.schemas import TwilioCardContext, TwilioTextContext
from campaign_sdk.templates import get_default_template
from campaign_sdk.widgets._bubble import bubble_html, placeholder_html


def test_a_card_shows_media_title_footer_and_buttons_with_values_filled_in() -> None:
    template = get_default_template("abandoned_cart")
    shown = bubble_html(template.context, template.samples)
    assert "cart.png" in shown and "cs-bubble-media" in shown
    assert "You left something behind, Ana!" in shown
    assert "Reply STOP to stop these messages" in shown
    assert shown.count("cs-bubble-button") == 1 and "Complete my order" in shown
    assert shown.index("cart.png") < shown.index("You left") < shown.index("Reply STOP") < shown.index("Complete")


def test_text_is_escaped_formatted_and_missing_values_are_marked() -> None:
    context = TwilioTextContext(body="Hi {{lead_name}} <b>&</b>\n*sale* _now_ ~old~ for {{city}}")
    shown = bubble_html(context, {"lead_name": "<script>x</script>"})
    assert "<script>" not in shown and "&lt;script&gt;x&lt;/script&gt;" in shown
    assert "&lt;b&gt;&amp;&lt;/b&gt;<br><b>sale</b> <i>now</i> <s>old</s>" in shown
    assert 'title="no value in this sample"' in shown and "{{city}}" in shown


def test_a_stale_preview_is_dimmed_with_its_note_and_a_placeholder_has_no_bubble() -> None:
    context = TwilioCardContext(title="Hello there", subtitle="Reply STOP to opt out")
    stale = bubble_html(context, {}, note="old version", stale=True)
    assert "opacity:0.45" in stale and "old version" in stale
    assert "opacity:1" in bubble_html(context, {}) and "cs-preview-note" not in bubble_html(context, {})
    empty = placeholder_html("Nothing yet <here>")
    assert "cs-bubble" not in empty and "Nothing yet &lt;here&gt;" in empty
