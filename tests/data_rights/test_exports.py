"""POST /me/exports queues one zip of the person's data; the worker writes it to the private store and mails
a signed link (read from a real SMTP server); the link opens it for its owner only, for DATA_EXPORT_LINK_DAYS."""

import io
import json
import zipfile
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from backend.cameos import services as cameo_services
from backend.core import storage
from backend.core.models import OutboxMessage
from backend.creators import services as creator_services
from backend.moderation.services import report_create
from backend.rights.services import revenue_event_record
from backend.videos import services as video_services
from data_rights import services, tasks
from data_rights.models import DataExport
from notifications.tasks import data_export_ready_notify
from tests.data_rights.conftest import stored
from tests.factories import AppearanceFactory, CameoFactory, CameoGrantFactory, UserFactory, VideoFactory
from tests.media_files import png_bytes

pytestmark = pytest.mark.django_db

EXPORTS = "/api/v1/me/exports"


def download_path(mail) -> str:
    link = urlsplit(mail.link)
    return f"{link.path}?{link.query}"


@pytest.fixture
def person():
    """Someone with a bit of everything an export holds."""
    user = UserFactory(bio="I skate")
    friend = UserFactory()
    image = SimpleUploadedFile("face.png", png_bytes(), content_type="image/png")
    cameo = cameo_services.cameo_create(owner=user, kind="character", display_name="Rex", audience="approved",
                                        reference_image=image)  # fmt: skip
    CameoGrantFactory(cameo=cameo, grantee=friend, status="approved")
    CameoGrantFactory(cameo=CameoFactory(owner=friend, audience="approved"), grantee=user)
    post = VideoFactory(owner=user, caption="my first", mp4=stored(storage.public(), "videos/job-1/video.mp4", b"MP4"))
    AppearanceFactory(cameo=cameo, video=VideoFactory(owner=friend))
    theirs = VideoFactory(owner=friend)
    video_services.comment_create(video=theirs, author=user, body="so good")
    video_services.like_create(video=theirs, user=user)
    creator_services.follow_create(follower=user, followee=friend)
    revenue_event_record(video=post, kind="ad", amount_minor=1000, currency="EUR", external_id="ev-1")
    report_create(reporter=user, target_type="video", target_id=theirs.id, reason="spam", details="bots")
    return {"user": user, "friend": friend, "cameo": cameo, "post": post, "theirs": theirs}


def build_waiting_exports() -> None:
    """What a worker does with the queued messages (the worker path itself: tests/e2e)."""
    for message in OutboxMessage.objects.filter(task=tasks.export_build.name).order_by("id"):
        tasks.export_build(**message.kwargs)
        message.delete()


@pytest.mark.parametrize(
    ("method", "path"), [("get", EXPORTS), ("post", EXPORTS), ("get", f"{EXPORTS}/1/download?token=x")]
)
def test_anonymous_gets_401(api_client, method, path):
    response = getattr(api_client, method)(path)
    assert response.status_code == 401 and "error" in response.json()


def test_an_export_holds_everything_and_the_mailed_link_opens_it(client_for, person, smtp_inbox):
    client = client_for(person["user"])
    asked = client.post(EXPORTS)
    assert (asked.status_code, asked.json()["status"]) == (202, "queued")

    build_waiting_exports()
    (mail,) = smtp_inbox.deliver()

    assert mail.to == [person["user"].email] and "ready" in mail.subject
    # The inbox says so too (written to the outbox with the export's new state).
    (told,) = OutboxMessage.objects.filter(task=data_export_ready_notify.name)
    data_export_ready_notify(**told.kwargs)
    inbox = client.get("/api/v1/notifications").json()["results"]
    assert [(item["kind"], item["deep_link"]) for item in inbox] == [("account.export_ready", "/me/exports")]
    export = DataExport.objects.get(id=asked.json()["id"])
    assert export.status == "ready" and storage.private().exists(export.file_name)
    assert export.expires_at - export.finished_at == timedelta(days=7)
    response = client.get(download_path(mail))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    read = lambda name: json.loads(archive.read(name))  # noqa: E731
    manifest = read("manifest.json")
    assert manifest["user_id"] == person["user"].id and set(manifest["entries"]) == set(archive.namelist())
    assert read("profile.json")["bio"] == "I skate"
    (video,) = read("videos.json")
    assert (video["id"], video["caption"], video["files"]) == (
        person["post"].id, "my first", [f"videos/{person['post'].id}/video.mp4"]
    )  # fmt: skip
    assert archive.read(video["files"][0]) == b"MP4"
    (cameo,) = read("cameos.json")
    assert cameo["display_name"] == "Rex" and archive.read(cameo["files"][0]) == png_reencoded(person["cameo"])
    assert [grant["grantee__handle"] for grant in read("grants_given.json")] == [person["friend"].handle]
    assert [grant["cameo__owner__handle"] for grant in read("grants_received.json")] == [person["friend"].handle]
    assert len(read("appearances.json")["of_my_cameos"]) == 1
    assert [comment["body"] for comment in read("comments.json")] == ["so good"]
    assert [like["video_id"] for like in read("likes.json")] == [person["theirs"].id]
    assert [edge["followee__handle"] for edge in read("follows.json")["following"]] == [person["friend"].handle]
    assert [(report["reason"], report["case__object_id"]) for report in read("reports.json")] == [
        ("spam", person["theirs"].id)
    ]
    ledger = read("ledger.json")
    assert ledger and {entry["currency"] for entry in ledger} == {"EUR"}
    (statement,) = read("statements.json")
    assert statement["totals"]["EUR"] == sum(entry["amount_minor"] for entry in ledger)


def png_reencoded(cameo) -> bytes:
    with storage.private().open(cameo.reference_image, "rb") as handle:
        return handle.read()


def test_the_link_is_refused_when_tampered_expired_or_someone_elses(client_for, person, smtp_inbox):
    owner = client_for(person["user"])
    owner.post(EXPORTS)
    build_waiting_exports()
    (mail,) = smtp_inbox.deliver()
    good = download_path(mail)
    export = DataExport.objects.get()
    refusals = [
        owner.get(good[:-3] + "abc"),  # tampered signature
        owner.get(good.split("?")[0]),  # no token
        owner.get(good.replace(f"/{export.id}/", f"/{export.id + 1}/")),  # another export's path
        client_for(person["friend"]).get(good),  # someone else, with the owner's link
    ]
    for response in refusals:
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    DataExport.objects.filter(id=export.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert owner.get(good).status_code == 404
    # And once beat expires it, its file is gone too.
    assert tasks.exports_expire() == 1
    assert not storage.private().exists(export.file_name)
    assert DataExport.objects.get(id=export.id).status == "expired"
    assert tasks.exports_expire() == 0


def test_an_old_link_is_refused_even_before_the_file_expires(client_for, person, smtp_inbox, settings):
    owner = client_for(person["user"])
    owner.post(EXPORTS)
    build_waiting_exports()
    (mail,) = smtp_inbox.deliver()
    settings.DATA_EXPORT_LINK_DAYS = 0  # the signature's age now exceeds what links may have
    assert owner.get(download_path(mail)).status_code == 404


def test_one_export_at_a_time_and_a_few_a_day(client_for, person, settings):
    client = client_for(person["user"])
    assert client.post(EXPORTS).status_code == 202
    busy = client.post(EXPORTS)
    assert (busy.status_code, busy.json()["error"]["code"]) == (409, "export_in_progress")
    build_waiting_exports()
    settings.DATA_EXPORTS_PER_DAY = 2
    assert client.post(EXPORTS).status_code == 202
    build_waiting_exports()
    limited = client.post(EXPORTS)
    assert (limited.status_code, limited.json()["error"]["code"]) == (429, "export_rate_limited")


def test_the_list_shows_only_ones_own(client_for, person):
    mine = client_for(person["user"])
    mine.post(EXPORTS)
    client_for(person["friend"]).post(EXPORTS)
    listed = mine.get(EXPORTS).json()["results"]
    assert [export["id"] for export in listed] == list(
        DataExport.objects.filter(user=person["user"]).values_list("id", flat=True)
    )


def test_building_twice_writes_one_archive_and_one_mail(person, smtp_inbox):
    export = services.export_request(user=person["user"])
    tasks.export_build(export_id=export.id)
    tasks.export_build(export_id=export.id)  # a redelivered message
    assert len(smtp_inbox.deliver()) == 1
    assert storage.names_under(storage.private(), f"exports/{person['user'].id}") == [
        DataExport.objects.get(id=export.id).file_name
    ]


def test_an_export_whose_worker_and_message_were_lost_stops_blocking_new_ones(client_for, person):
    client = client_for(person["user"])
    stalled = client.post(EXPORTS).json()["id"]
    DataExport.objects.filter(id=stalled).update(created_at=timezone.now() - timedelta(hours=7))
    assert client.post(EXPORTS).status_code == 409
    tasks.exports_expire()
    assert DataExport.objects.get(id=stalled).status == "failed"
    assert client.post(EXPORTS).status_code == 202
