"""POST /api/v1/reports: anonymous, refused and allowed reports, and how they group into cases."""

import pytest

from backend.moderation.models import Case, Report
from tests.factories import AppearanceFactory, CameoFactory, UserFactory, VideoFactory
from tests.moderation.conftest import report

pytestmark = pytest.mark.django_db


class TestReports:
    def test_reports_group_into_one_case_and_a_repeat_is_merged(self, client_for):
        video = VideoFactory()
        ana, bea = UserFactory(), UserFactory()
        assert report(client_for(ana), "video", video.id).status_code == 201
        assert report(client_for(ana), "video", video.id, "violence", details="gore at 0:03").status_code == 201
        report(client_for(bea), "video", video.id)
        case = Case.objects.get()
        assert case.reporter_count == 2 and Report.objects.count() == 2
        assert Report.objects.get(reporter=ana).reason == "violence"

    def test_cameo_owner_reports_of_misuse_go_to_the_top(self, client_for):
        noisy = VideoFactory()
        for _ in range(5):
            report(client_for(UserFactory()), "video", noisy.id, "violence")
        misused = VideoFactory()
        cameo = CameoFactory()
        AppearanceFactory(cameo=cameo, video=misused)
        report(client_for(cameo.owner), "video", misused.id, "cameo_misuse")
        assert [case.target_id for case in Case.objects.all()] == [misused.id, noisy.id]

    def test_bad_reports(self, client_for, api_client):
        client = client_for(UserFactory())
        assert report(client, "video", 999999).status_code == 404
        assert report(client, "planet", 1).status_code == 400
        assert report(client, "video", VideoFactory().id, "because").status_code == 400
        assert report(api_client, "video", 1).status_code == 401
