import pytest

from backend.cameos import services as cameo_services
from backend.cameos.models import CameoGrant
from backend.creators import services as creator_services
from tests.factories import CameoFactory, UserFactory

AUDIENCES = ["only_me", "approved", "mutuals", "everyone"]
RELATIONSHIPS = ["owner", "stranger", "follower", "mutual", "approved", "denied", "revoked", "blocked"]

# Who may use a cameo, by relationship to its owner and the cameo's audience.
ALLOWED = {
    "owner": set(AUDIENCES),
    "stranger": {"everyone"},
    "follower": {"everyone"},
    "mutual": {"mutuals", "everyone"},
    "approved": {"approved", "everyone"},
    "denied": {"everyone"},
    "revoked": {"everyone"},
    "blocked": set(),
}


@pytest.fixture
def cameo_and_user():
    """Make an active cameo with ``audience`` and a user in ``relationship`` to its owner."""

    def make(audience: str, relationship: str):
        owner = UserFactory()
        cameo = CameoFactory(owner=owner, audience=audience)
        if relationship == "owner":
            return cameo, owner
        user = UserFactory()
        if relationship in ("follower", "mutual", "blocked"):
            creator_services.follow_create(follower=user, followee=owner)
        if relationship in ("mutual", "blocked"):
            creator_services.follow_create(follower=owner, followee=user)
        if relationship in ("approved", "denied", "revoked", "blocked"):
            grant = CameoGrant.objects.create(cameo=cameo, grantee=user)
            if relationship == "denied":
                cameo_services.grant_deny(grant=grant, by=owner)
            else:
                cameo_services.grant_approve(grant=grant, by=owner)
            if relationship == "revoked":
                cameo_services.grant_revoke(grant=grant, by=owner)
        if relationship == "blocked":
            creator_services.block_create(blocker=owner, blocked=user)
        return cameo, user

    return make
