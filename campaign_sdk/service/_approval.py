"""WhatsApp approval rules that depend on more than the template: language, category, samples.

Facts (categories, languages, which types may be submitted) come from
:mod:`campaign_sdk.facts.content`; the template's own rules are the WhatsApp lint's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from campaign_sdk._exceptions import InvalidArgumentError, Issue
from campaign_sdk.facts import content as facts
from campaign_sdk.schemas import ContentContext


def check_language(language: str | None) -> str:
    """``language`` if it is one of WhatsApp's template locale codes, else InvalidArgumentError
    naming the nearest code (``en-US`` -> ``en_US``).

    >>> check_language("pt_BR")
    'pt_BR'
    """
    code = facts.DEFAULT_LANGUAGE if language is None else str(language).strip()
    if code in facts.LANGUAGES:
        return code
    guess = _nearest(code)
    hint = f"; did you mean {guess!r}?" if guess else ""
    raise InvalidArgumentError(
        f"language {code!r} is not a WhatsApp template language{hint} WhatsApp uses codes such as "
        f"'en', 'en_US', 'pt_BR', 'es_MX' (underscore, region in capitals); see {facts.LANGUAGES_SOURCE}"
    )


def _nearest(code: str) -> str | None:
    parts = re.split(r"[-_ ]", code)
    candidates = [parts[0].lower() + ("_" + parts[1].upper() if len(parts) > 1 else ""), parts[0].lower()]
    return next((c for c in candidates if c in facts.LANGUAGES), None)


def check_category(category: str) -> str:
    """The category upper-cased, if WhatsApp recognises it; InvalidArgumentError otherwise."""
    value = str(category or "").strip().upper()
    if value not in facts.APPROVAL_CATEGORIES:
        raise InvalidArgumentError(
            f"approval category {category!r} is not one WhatsApp accepts: "
            f"{', '.join(facts.APPROVAL_CATEGORIES)} ({facts.CATEGORIES_SOURCE})"
        )
    return value


def category_issues(content: ContentContext, category: str) -> list[Issue]:
    """Where ``category`` and the content disagree (Meta's category rules)."""
    kind = content.content_type
    issues = []
    if category == "AUTHENTICATION" and kind not in facts.AUTHENTICATION_TYPES:
        message = (
            f"category AUTHENTICATION is only for one-time-password templates (whatsapp/authentication); "
            f"this is a {kind} template. Use UTILITY or MARKETING, or build a whatsapp/authentication template"
        )
        issues.append(Issue("category", "wa_category_mismatch", message, source=facts.WHATSAPP_SOURCE,
                            url=facts.AUTH_SOURCE))
    if kind in facts.AUTHENTICATION_TYPES and category != "AUTHENTICATION":
        message = f"a whatsapp/authentication template must be submitted as AUTHENTICATION, not {category}"
        issues.append(Issue("category", "wa_category_mismatch", message, source=facts.WHATSAPP_SOURCE,
                            url=facts.AUTH_SOURCE))
    if kind in facts.MARKETING_ONLY_DOCUMENTED and category != "MARKETING":
        message = (
            f"{kind} templates can only be MARKETING templates on WhatsApp (Meta's carousel template page: "
            f"carousel cards are only available for marketing template messages), not {category}. Submit as MARKETING"
        )
        issues.append(Issue("category", "wa_category_mismatch", message, source=facts.WHATSAPP_SOURCE,
                            url=facts.MARKETING_ONLY_DOCUMENTED[kind]))
    if kind in facts.MARKETING_ONLY and category != "MARKETING":
        message = (
            f"{kind} templates are marketing templates on WhatsApp (inferred from Meta's template pages); "
            f"{category} is likely to be changed or rejected. Submit as MARKETING"
        )
        issues.append(Issue("category", "wa_category_mismatch", message, severity="warning",
                            source=facts.WHATSAPP_SOURCE, url=facts.CATEGORIES_SOURCE))
    return issues


# What to change for the rejection reasons Twilio / Meta report most (Twilio's approval page).
_ADVICE: tuple[tuple[str, str], ...] = (
    ("variable", "move variables away from the start and end of the text, keep them apart with words, "
                 "and number them {{1}}..{{n}} without gaps; give a realistic sample for each"),
    ("sample", "give a realistic example value for every variable (samples=...); never a customer's data"),
    ("format", "remove tabs, line breaks in values and runs of more than 4 spaces; check every button URL"),
    ("category", "submit under the category that matches the content: AUTHENTICATION for one-time codes, "
                 "UTILITY for updates about an order or account, MARKETING for everything else"),
    ("duplicate", "the text is the same as an existing template: change the wording or reuse that template"),
    ("abusive", "remove content that breaks WhatsApp's Business and Commerce policies"),
    ("promotional", "a UTILITY template may not promote: remove offers, or submit as MARKETING"),
)


def rejection_advice(reason: str | None) -> str | None:
    """What to change for a WhatsApp rejection ``reason`` (None when there is no reason).

    >>> rejection_advice("INVALID_FORMAT")
    'remove tabs, line breaks in values and runs of more than 4 spaces; check every button URL'
    """
    if not reason:
        return None
    text = reason.lower()
    for key, advice in _ADVICE:
        if key in text:
            return advice
    return ("read the reason above, edit the template (campaign.update(content=...)) and submit it "
            "again; a rejected name is not reused for 30 days, so the SDK picks a new one")


def clean_samples(samples: Mapping[str, object] | None) -> dict[str, str]:
    """Samples as strings keyed by variable name (None: no samples)."""
    return {str(key): str(value) for key, value in (samples or {}).items() if value is not None}
