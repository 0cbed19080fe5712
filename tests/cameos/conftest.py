from pathlib import Path

import imageio_ffmpeg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backend.cameos import services as cameo_services
from backend.cameos.events import consent_withdrawn
from backend.creators import services as creator_services
from tests.factories import CameoFactory, CameoGrantFactory, UserFactory
from tests.media_files import make_clip, png_bytes

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
    """Make an active cameo with ``audience`` and a user in ``relationship`` to its owner.

    "blocked" is the strongest case: mutual followers with an approved grant, then blocked.
    """

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
            grant = CameoGrantFactory(cameo=cameo, grantee=user)
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


def _ffmpeg(*args: str) -> None:
    import subprocess

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="session")
def media_files(tmp_path_factory) -> dict[str, Path]:
    """Real files, good and bad, made once per run with the FFmpeg binary of imageio-ffmpeg."""
    folder = tmp_path_factory.mktemp("cameo-media")
    good = make_clip(folder / "good.mp4", seconds=4)
    truncated = folder / "truncated.mp4"  # the index (moov) is at the end, and cut off
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    faststart = folder / "faststart.mp4"
    _ffmpeg("-i", str(good), "-c", "copy", "-movflags", "+faststart", str(faststart))
    truncated_faststart = folder / "truncated-faststart.mp4"  # index intact, frames cut off
    truncated_faststart.write_bytes(faststart.read_bytes()[: int(faststart.stat().st_size * 0.6)])
    geotagged = folder / "geotagged.mov"
    _ffmpeg("-i", str(good), "-c", "copy", "-metadata", "location=+48.8577+002.2950/", "-metadata",
            "title=At home", str(geotagged))  # fmt: skip
    webm = folder / "good.webm"
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:d=4:r=12", "-f", "lavfi", "-i", "sine=duration=4",
            "-c:v", "libvpx", "-b:v", "200k", "-c:a", "libopus", "-shortest", str(webm))  # fmt: skip
    voice = folder / "voice.m4a"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:duration=5", "-c:a", "aac", "-metadata", "artist=Me", str(voice))
    voice_wav = folder / "voice.wav"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:duration=5", str(voice_wav))
    voice_short = folder / "voice-short.m4a"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=220:duration=1", "-c:a", "aac", str(voice_short))
    image_as_mp4 = folder / "image.mp4"
    image_as_mp4.write_bytes(png_bytes((320, 240)))
    text = folder / "notes.mp4"
    text.write_text("just some notes, not a video\n" * 50)
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    return {
        "good": good,
        "faststart": faststart,
        "webm": webm,
        "geotagged": geotagged,
        "silent": make_clip(folder / "silent.mp4", seconds=4, audio=False),
        "long": make_clip(folder / "long.mp4", seconds=40, size="64x48"),
        "short": make_clip(folder / "short.mp4", seconds=1),
        "truncated": truncated,
        "truncated_faststart": truncated_faststart,
        "image": image_as_mp4,
        "text": text,
        "empty": empty,
        "voice": voice,
        "voice_wav": voice_wav,
        "voice_short": voice_short,
    }


def upload(path: Path, name: str | None = None, content_type: str = "video/mp4") -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type=content_type)


def png_upload(size=(64, 64), name="me.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(size), content_type="image/png")


def stored_private_files(settings) -> list[Path]:
    """Every file in the private store (each test has its own folder)."""
    return [path for path in (Path(settings.MEDIA_ROOT) / "private").rglob("*") if path.is_file()]


@pytest.fixture
def withdrawn():
    """Every ``consent_withdrawn`` event sent (they are sent on commit), as (cameo_id, user_id, reason)."""
    sent: list[tuple[int, int | None, str]] = []

    def record(sender, *, cameo_id, user_id=None, reason="", **kwargs):
        sent.append((cameo_id, user_id, reason))

    consent_withdrawn.connect(record, dispatch_uid="tests.cameos.withdrawn", weak=False)
    yield sent
    consent_withdrawn.disconnect(dispatch_uid="tests.cameos.withdrawn")
