"""Notebook widgets (ipywidgets 8): the Template Studio, the lead loader and the plan preview.

Importing ``campaign_sdk`` does not import this package (nor ipywidgets); import it in a notebook::

    from campaign_sdk.widgets import LeadLoader, TemplateStudio
    studio = TemplateStudio(template="order_confirmation", client=client)
    studio                                    # draft, check and preview; then Save
"""

from __future__ import annotations

from campaign_sdk.schemas._draft import DraftCheck, Variable
from campaign_sdk.widgets._leads import LeadLoader
from campaign_sdk.widgets._plan_preview import PlanPreview
from campaign_sdk.widgets._studio import TemplateStudio

__all__ = ["DraftCheck", "LeadLoader", "PlanPreview", "TemplateStudio", "Variable"]
