"""Outside moderation models for prompts, behind one small interface.

``prompt_moderation(text)`` answers flagged or not, the categories, and
whether policy refuses it outright (``MODERATION_REFUSE_CATEGORIES``) or only
marks it for review. The OpenAI adapter follows the moderation endpoint's
documented shapes: ``POST /v1/moderations`` with ``model`` and ``input``;
``results[0].flagged``, ``categories`` (name → bool) and ``category_scores``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from django.conf import settings

from backend.core.http import TIMEOUT, request


@dataclass(frozen=True)
class ModerationResult:
    flagged: bool = False
    categories: list[str] = field(default_factory=list)
    refuse: bool = False


class OpenAIModeration:
    def __init__(self, *, api_key: str, base_url: str, client: httpx.Client | None = None):
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=TIMEOUT, headers={"Authorization": f"Bearer {api_key}"})

    def check(self, text: str) -> ModerationResult:
        body = {"model": "omni-moderation-latest", "input": text}
        result = request(self.client, "POST", f"{self.base_url}/v1/moderations", provider="openai-moderation",
                          json=body).json()["results"][0]  # fmt: skip
        categories = sorted(name for name, hit in result.get("categories", {}).items() if hit)
        refuse = bool(set(categories) & set(settings.MODERATION_REFUSE_CATEGORIES))
        return ModerationResult(flagged=bool(result.get("flagged")), categories=categories, refuse=refuse)


def prompt_moderation(text: str) -> ModerationResult:
    if settings.MODERATION_PROVIDER == "openai":
        return OpenAIModeration(api_key=settings.OPENAI_API_KEY, base_url=settings.OPENAI_BASE_URL).check(text)
    return ModerationResult()
