"""The rendered message of every lead as one DuckDB expression (no Python loop over leads).

The template's plain-text preview (``schemas.preview_text`` with placeholders kept) is cut at its
``{{key}}`` placeholders; each becomes the lead's value from its ``custom_variables`` JSON, or
``[missing: key]`` when the value is absent or blank, exactly as ``preview_text(..., missing="mark")``
renders one lead.
"""

from __future__ import annotations

import re

from campaign_sdk.schemas import ContentContext, preview_text

_PLACEHOLDER = re.compile(r"\{\{([A-Za-z0-9_]{1,16})\}\}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def message_sql(content: ContentContext, column: str) -> str:
    """A DuckDB expression rendering ``content`` with the JSON text column ``column``'s values.

    >>> from campaign_sdk.schemas import TwilioTextContext
    >>> message_sql(TwilioTextContext(body="Hi {{name}}!"), "cv")  # doctest: +NORMALIZE_WHITESPACE
    "concat('Hi ', CASE WHEN trim(coalesce(json_extract_string(cv, '$.\\"name\\"'), '')) = ''
    THEN '[missing: name]' ELSE json_extract_string(cv, '$.\\"name\\"') END, '!')"
    """
    template = preview_text(content, {}, missing="keep")
    parts: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(_literal(template[last:match.start()]))
        key = match.group(1)
        value = f"json_extract_string({column}, '$.\"{key}\"')"
        parts.append(
            f"CASE WHEN trim(coalesce({value}, '')) = '' THEN {_literal(f'[missing: {key}]')} ELSE {value} END"
        )
        last = match.end()
    parts.append(_literal(template[last:]))
    return "concat(" + ", ".join(parts) + ")"
