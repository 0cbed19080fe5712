"""The checks on likeness media, on real files: every bad kind has its own code and leaves nothing."""

import io

import av
import pytest
from PIL import Image

from backend.cameos import uploads
from tests.cameos.conftest import png_upload, upload


def clean_clip(path, **limits):
    limits = {"min_s": 3, "max_s": 30, "need_audio": True, **limits}
    return uploads.cleaned_clip(upload(path), **limits)


def refusal(manager) -> tuple[int, str]:
    with pytest.raises(uploads.BadUpload) as caught, manager:
        pass
    return caught.value.status_code, caught.value.detail.code


class TestClips:
    def test_a_good_clip_is_measured_and_handed_out_as_mp4(self, media_files):
        with clean_clip(media_files["good"]) as clean:
            assert (clean.extension, clean.width, clean.height) == (".mp4", 320, 240)
            assert clean.duration_s == pytest.approx(4, abs=0.1)
            with av.open(str(clean.path)) as container:
                assert container.streams.video and container.streams.audio
            path = clean.path
        assert not path.exists(), "the temporary copy is removed on exit"

    def test_where_it_was_filmed_is_not_kept(self, media_files):
        with av.open(str(media_files["geotagged"])) as original:
            assert "location" in original.metadata  # given a clip that says where it was made
        with clean_clip(media_files["geotagged"]) as clean, av.open(str(clean.path)) as container:
            assert "location" not in container.metadata and "title" not in container.metadata

    def test_a_webm_clip_stays_webm(self, media_files):
        with clean_clip(media_files["webm"]) as clean:
            assert clean.extension == ".webm"

    def test_sound_is_optional_when_not_needed(self, media_files):
        with clean_clip(media_files["silent"], need_audio=False) as clean:
            assert clean.duration_s == pytest.approx(4, abs=0.1)

    @pytest.mark.parametrize(
        ("name", "code"),
        [
            ("silent", "no_audio"),
            ("long", "too_long"),
            ("short", "too_short"),
            ("truncated", "truncated"),
            ("truncated_faststart", "truncated"),
            ("image", "not_a_video"),
            ("text", "not_a_video"),
            ("empty", "empty_file"),
            ("voice", "not_a_video"),
        ],
    )
    def test_bad_clips_are_refused_with_their_own_code(self, media_files, name, code):
        assert refusal(clean_clip(media_files[name])) == (400, code)

    def test_a_clip_over_the_size_cap_is_refused_before_it_is_read(self, media_files, settings):
        settings.CAMEO_CLIP_MAX_BYTES = media_files["good"].stat().st_size - 1
        assert refusal(clean_clip(media_files["good"])) == (413, "file_too_large")

    def test_a_clip_over_the_resolution_cap_is_refused(self, media_files, settings):
        settings.CAMEO_CLIP_MAX_SIDE_PX = 319
        assert refusal(clean_clip(media_files["good"])) == (400, "resolution_too_high")

    def test_nothing_is_left_in_the_temporary_folder_after_a_refusal(self, media_files, tmp_path, monkeypatch):
        monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
        refusal(clean_clip(media_files["truncated_faststart"]))
        assert list(tmp_path.iterdir()) == []


class TestVoiceSamples:
    def test_a_recording_keeps_its_sound_without_its_tags(self, media_files):
        with uploads.cleaned_voice(upload(media_files["voice"]), min_s=3, max_s=60) as clean:
            assert clean.extension == ".m4a" and clean.duration_s == pytest.approx(5, abs=0.1)
            with av.open(str(clean.path)) as container:
                assert container.streams.audio and "artist" not in container.metadata

    def test_uncompressed_audio_is_encoded_once_to_aac(self, media_files):
        with (
            uploads.cleaned_voice(upload(media_files["voice_wav"]), min_s=3, max_s=60) as clean,
            av.open(str(clean.path)) as container,
        ):
            assert container.streams.audio[0].codec_context.name == "aac"

    def test_a_video_gives_only_its_sound(self, media_files):
        with (
            uploads.cleaned_voice(upload(media_files["good"]), min_s=3, max_s=60) as clean,
            av.open(str(clean.path)) as container,
        ):
            assert container.streams.audio and not container.streams.video

    @pytest.mark.parametrize(
        ("name", "code"),
        [("voice_short", "too_short"), ("silent", "not_audio"), ("image", "not_audio"), ("text", "not_audio"),
         ("truncated", "truncated")],
    )  # fmt: skip
    def test_bad_recordings_are_refused(self, media_files, name, code):
        assert refusal(uploads.cleaned_voice(upload(media_files[name]), min_s=3, max_s=60)) == (400, code)


class TestImages:
    def test_an_image_is_re_encoded_as_jpeg_without_exif(self):
        exif = Image.Exif()
        exif[0x0112] = 6  # orientation: rotate 90°
        exif[0x010F] = "PhoneMaker"
        source = io.BytesIO()
        Image.new("RGB", (40, 20), "red").save(source, format="JPEG", exif=exif)
        given = png_upload()
        given.file = io.BytesIO(source.getvalue())
        given.size = len(source.getvalue())

        content = uploads.reencoded_image(given)

        with Image.open(io.BytesIO(content.read())) as image:
            assert image.format == "JPEG"
            assert image.size == (20, 40), "turned upright, as the phone showed it"
            assert not image.getexif()

    @pytest.mark.parametrize(
        "data",
        [b"\x89PNG not really", b"", b"GIF89a" + b"\x00" * 20, b"<svg xmlns='http://www.w3.org/2000/svg'/>"],
    )
    def test_what_is_not_an_image_is_refused(self, data):
        fake = png_upload()
        fake.file, fake.size = io.BytesIO(data), len(data)
        with pytest.raises(uploads.BadUpload) as caught:
            uploads.reencoded_image(fake)
        assert caught.value.detail.code in ("invalid_image", "empty_file")

    def test_a_truncated_png_is_refused(self):
        whole = png_upload((300, 300))
        data = whole.read()[:-200]
        whole.file, whole.size = io.BytesIO(data), len(data)
        with pytest.raises(uploads.BadUpload) as caught:
            uploads.reencoded_image(whole)
        assert caught.value.detail.code == "invalid_image"

    def test_a_huge_image_is_refused(self, settings):
        settings.CAMEO_IMAGE_MAX_BYTES = 100
        with pytest.raises(uploads.UploadTooLarge):
            uploads.reencoded_image(png_upload((64, 64)))
        settings.CAMEO_IMAGE_MAX_BYTES = 10 * 2**20
        settings.AVATAR_MAX_PIXELS = 32 * 32
        with pytest.raises(uploads.BadUpload) as caught:
            uploads.reencoded_image(png_upload((64, 64)))
        assert caught.value.detail.code == "image_too_large"
