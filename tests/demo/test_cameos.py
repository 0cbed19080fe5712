import pytest

from backend.cameos.models import Cameo, CameoGrant, CameoVerification, ProtectedLikeness
from backend.cameos.selectors import cameo_permission
from backend.demo.cameos import create_demo_cameos
from tests.cameos.conftest import stored_private_files
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_users():
    return {handle: UserFactory(handle=handle) for handle in ("maya", "leo", "sam", "ines", "kai")}


def test_demo_cameos_cover_every_audience_grant_state_and_the_verification_queue(demo_users, settings):
    create_demo_cameos(demo_users)

    active = Cameo.objects.filter(status="active")
    assert set(active.values_list("audience", flat=True)) == {"only_me", "approved", "mutuals", "everyone"}
    assert set(CameoGrant.objects.values_list("status", flat=True)) == {"requested", "approved", "denied", "revoked"}
    assert set(CameoVerification.objects.values_list("status", flat=True)) == {"approved", "submitted", "issued"}
    waiting = CameoVerification.objects.get(status="submitted")
    assert waiting.cameo.owner.handle == "kai" and waiting.clip
    assert ProtectedLikeness.objects.count() == 2
    pixel = Cameo.objects.get(display_name="Pixel the dog")
    assert cameo_permission(user=demo_users["maya"], cameo=pixel).allowed
    assert cameo_permission(user=demo_users["leo"], cameo=pixel).reason == "grant_denied"
    assert stored_private_files(settings), "reference media and clips are really stored"


def test_running_it_again_adds_nothing(demo_users):
    create_demo_cameos(demo_users)
    counts = (Cameo.objects.count(), CameoGrant.objects.count(), CameoVerification.objects.count())
    create_demo_cameos(demo_users)
    assert (Cameo.objects.count(), CameoGrant.objects.count(), CameoVerification.objects.count()) == counts


def test_missing_creators_are_skipped():
    create_demo_cameos({"leo": UserFactory(handle="leo")})
    assert list(Cameo.objects.values_list("owner__handle", "audience")) == [("leo", "everyone")]
