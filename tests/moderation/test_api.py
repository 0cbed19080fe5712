"""POST /api/v1/reports: anonymous, refused and allowed reports, and how they group into cases; GET
/api/v1/reports/{id}: one's own report."""

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


class TestOwnReport:
    def test_the_reporter_reads_it_and_nobody_else_does(self, client_for, api_client):
        video, reporter = VideoFactory(), UserFactory()
        filed = report(client_for(reporter), "video", video.id, "spam", details="a link farm")
        path = f"/api/v1/reports/{filed.data['id']}"
        assert client_for(reporter).get(path).json() == filed.json()
        for other in (client_for(UserFactory()), client_for(video.owner)):
            response = other.get(path)
            assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
        assert api_client.get(path).status_code == 401
