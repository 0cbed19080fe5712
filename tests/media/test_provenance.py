"""Provenance lookup: re-encoded, scaled, cropped copies and stills are found; strangers are not."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from media import postprocessing, provenance
from media.providers.preview import ffmpeg
from tests.factories import UserFactory, VideoFactory
from tests.media_files import png_bytes

pytestmark = pytest.mark.django_db
LOOKUP = "/api/v1/provenance/lookup"


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("provenance")
    original = folder / "original.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=640x360:d=4:r=24", "-f", "lavfi", "-i", "sine=d=4",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(original))  # fmt: skip
    reencoded = folder / "reencoded.mp4"
    ffmpeg("-i", str(original), "-vf", "scale=320:-2", "-c:v", "libx264", "-b:v", "150k", str(reencoded))
    cropped = folder / "cropped.mp4"
    ffmpeg("-i", str(original), "-vf", "crop=iw*0.97:ih*0.97", "-c:v", "libx264", "-crf", "30", str(cropped))
    still = folder / "still.png"
    ffmpeg("-ss", "2", "-i", str(original), "-frames:v", "1", str(still))
    stranger = folder / "stranger.mp4"
    ffmpeg("-f", "lavfi", "-i", "mandelbrot=s=640x360:r=24", "-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p",
           str(stranger))  # fmt: skip
    signed = folder / "signed.mp4"
    chain, key, _ = provenance.ensure_dev_certificate(settings.VAR_DIR / "c2pa")
    provenance.sign_mp4(source=original, destination=signed, title="t", metadata={"render_id": "r-1"},
                        chain_pem=chain.read_bytes(), key_pem=key.read_bytes())  # fmt: skip
    return {"original": original, "reencoded": reencoded, "cropped": cropped, "still": still,
            "stranger": stranger, "signed": signed}  # fmt: skip


@pytest.fixture
def published(clips):
    from media.fingerprint import video_hashes

    parent = VideoFactory()
    video = VideoFactory(parent=parent, root=parent, depth=1)
    postprocessing.fingerprint_store(video=video, hashes=video_hashes(clips["original"]))
    return video


def lookup(client, path: Path):
    return client.post(LOOKUP, {"file": SimpleUploadedFile(path.name, path.read_bytes())}, format="multipart")


@pytest.mark.parametrize("copy", ["original", "reencoded", "cropped", "still"])
def test_copies_are_traced_to_the_video_its_creator_and_lineage(client_for, clips, published, copy):
    body = lookup(client_for(UserFactory()), clips[copy]).data
    assert body["made_here"] is True
    assert body["video"]["id"] == published.id
    assert body["video"]["creator_handle"] == published.owner.handle
    assert [node["id"] for node in body["video"]["lineage"]] == [published.parent_id]


def test_a_clip_never_made_here_does_not_match(client_for, clips, published):
    body = lookup(client_for(UserFactory()), clips["stranger"]).data
    assert (body["made_here"], body["video"]) == (False, None)


def test_a_c2pa_manifest_in_the_file_is_read_and_verified(client_for, clips, published):
    body = lookup(client_for(UserFactory()), clips["signed"]).data
    assert body["c2pa"]["validation_state"] == "Trusted"
    assert body["c2pa"]["metadata"] == {"render_id": "r-1"}


def test_a_private_match_says_made_here_without_details(client_for, clips, published):
    published.visibility = "private"
    published.save()
    body = lookup(client_for(UserFactory()), clips["reencoded"]).data
    assert (body["made_here"], body["video"]) == (True, None)


def test_bad_files_are_refused(client_for, api_client, tmp_path):
    client = client_for(UserFactory())
    text = tmp_path / "notes.mp4"
    text.write_text("hello " * 100)
    response = lookup(client, text)
    assert (response.status_code, response.data["error"]["code"]) == (400, "unreadable_media")
    assert client.post(LOOKUP, {}, format="multipart").status_code == 400
    assert lookup(api_client, text).status_code == 401
    image = tmp_path / "tiny.png"
    image.write_bytes(png_bytes((8, 8)))
    assert lookup(client, image).data["made_here"] is False
