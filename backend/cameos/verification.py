"""Who decides that a verification clip shows the cameo's person saying the challenge.

The default verifier leaves the clip to a moderator (the verification queue in
the admin). A provider of liveness and speech checks can replace it by
implementing ``Verifier`` and naming it in ``CAMEO_VERIFIER``; it would call
``verification_approve``/``verification_reject`` when its answer comes. Nothing
here pretends to check speech.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from backend.cameos.models import CameoVerification


class Verifier(Protocol):
    name: str

    def submitted(self, *, verification: CameoVerification) -> None:
        """A clip was stored for ``verification``; start checking it (caller's transaction)."""


class ManualReviewVerifier:
    name = "manual_review"

    def submitted(self, *, verification: CameoVerification) -> None:
        CameoVerification.objects.filter(id=verification.id).update(verifier=self.name)


def get_verifier() -> Verifier:
    return import_string(settings.CAMEO_VERIFIER)()
