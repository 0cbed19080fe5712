import pytest

from tests.fake_fcm import fake_fcm_as_provider


@pytest.fixture
def fcm(settings, tmp_path):
    """Pushes go to FCM, answered by the local fake (tests/fake_fcm.py)."""
    fake, _env = fake_fcm_as_provider(settings, tmp_path)
    yield fake
    fake.stop()
