"""Twilio's and WhatsApp's facts, in one home: data only, each fact citing its source.

This package sits below every other layer (``schemas`` included) and imports nothing of ours.
Nothing else in the SDK spells a Twilio number, code, limit or status: it reads them from here.

Modules:

- ``numbers``: phone number formats (E.164).
- ``errors``: Twilio's error codes and what a sender does with each (kind, retryable, ...).
- ``statuses``: Twilio's message statuses and their one order.
- ``content``: limits per content type, field and channel; WhatsApp approval rules; approval
  categories and template languages.
- ``scheduling``: message scheduling (ScheduleType / SendAt window, its error codes, cancel) and
  ValidityPeriod.
- ``delivery``: SMS encodings and segments, WhatsApp messaging limits, the 24-hour
  customer-service window.
- ``pricing``: how Twilio's Pricing API keys an SMS price (per carrier and the sender's number type).

A fact read from a page or an OpenAPI path cites it in a comment; a rule inferred rather than
read is marked as such, and the code that applies it warns instead of refusing.
"""
