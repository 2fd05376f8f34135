"""Small HTML pieces the widgets show: issue lists, character counters and the variables table."""

from __future__ import annotations

import html
from collections.abc import Sequence

from campaign_sdk._exceptions import Issue
from campaign_sdk.schemas._draft import Variable

ERROR_COLOR = "#c62828"
WARNING_COLOR = "#a15c00"
MUTED_COLOR = "#667781"
_CELL = "padding:3px 10px 3px 0;line-height:1.3;vertical-align:top"


def issues_html(errors: Sequence[Issue], warnings: Sequence[Issue] = ()) -> str:
    """Errors (red, they block saving) then warnings (amber), each with its rule code.

    >>> issues_html([Issue("body", "max_length", "too <long>")])  # doctest: +ELLIPSIS
    '<ul class="cs-issues" ...>...too &lt;long&gt;...[max_length]...</ul>'
    """
    if not errors and not warnings:
        return ""
    items = [_item("✖", ERROR_COLOR, issue) for issue in errors]
    items += [_item("⚠", WARNING_COLOR, issue) for issue in warnings]
    style = "list-style:none;margin:2px 0 6px 0;padding:0;font-size:12.5px;line-height:1.35"
    return f'<ul class="cs-issues" style="{style}">{"".join(items)}</ul>'


def _item(mark: str, color: str, issue: Issue) -> str:
    rule = f'<code style="color:{MUTED_COLOR};font-size:11px">[{html.escape(issue.rule)}]</code>'
    return (
        f'<li class="cs-issue cs-rule-{html.escape(issue.rule)}" style="color:{color};margin:1px 0">'
        f"{mark} {html.escape(issue.message)} {rule}</li>"
    )


def counter_html(count: int, limit: int) -> str:
    """``1,234 / 1,600``, red and marked when over the limit.

    >>> counter_html(21, 20)  # doctest: +ELLIPSIS
    '<span class="cs-counter cs-over" ...>21 / 20 ✖</span>'
    """
    over = count > limit
    color = ERROR_COLOR if over else MUTED_COLOR
    weight = "600" if over else "400"
    css = "cs-counter cs-over" if over else "cs-counter"
    mark = " ✖" if over else ""
    return (
        f'<span class="{css}" style="color:{color};font-weight:{weight};font-size:12px;'
        f'font-variant-numeric:tabular-nums;white-space:nowrap;padding:0 4px">{count:,} / {limit:,}{mark}</span>'
    )


def variables_html(variables: Sequence[Variable]) -> str:
    """A table: each variable, its WhatsApp number, the fields using it, its source, the sample."""
    if not variables:
        return f'<p style="color:{MUTED_COLOR};font-size:12.5px">No variables: every lead gets the same text.</p>'
    head = "".join(
        f'<th style="text-align:left;padding:2px 10px 2px 0;line-height:1.3">{name}</th>'
        for name in ("variable", "sent as", "used in", "value comes from", "sample")
    )
    rows = "".join(_variable_row(v) for v in variables)
    return (
        '<table class="cs-variables" style="border-collapse:collapse;font-size:12.5px">'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )


def _variable_row(variable: Variable) -> str:
    number = "{{" + variable.number + "}}" if variable.number else "–"
    sample = (
        html.escape(variable.sample)
        if variable.sample is not None
        else f'<span style="color:{WARNING_COLOR}">no value</span>'
    )
    source_color = WARNING_COLOR if variable.source.startswith("missing") else "inherit"
    cells = [
        f"<code>{{{{{html.escape(variable.name)}}}}}</code>",
        f"<code>{number}</code>",
        html.escape(", ".join(variable.fields)),
        f'<span style="color:{source_color}">{html.escape(variable.source)}</span>',
        sample,
    ]
    return "<tr>" + "".join(f'<td style="{_CELL}">{cell}</td>' for cell in cells) + "</tr>"
