"""The export archive: one zip of what a person gave or made here, machine-readable JSON and the files.

Layout (also in the README, "Data rights"); every JSON file is UTF-8, times in ISO 8601 UTC, ids as numbers:

    manifest.json       format version, when it was made, whose it is, and this list
    profile.json        the account: email, handle, names, bio, birth date, tier, dates
    videos.json         own videos (drafts, posts, removed ones) with metadata and the names of their files
    videos/<id>/...     their MP4, poster and thumbnails (the HLS ladder is the MP4 again, cut up: left out)
    renders.json        render requests: prompt, settings, status, result video
    cameos.json         own cameos with settings and verifications, and the names of their media files
    cameos/<id>/...     their reference image, reference clip, voice sample and verification clips
    grants_given.json   grants on own cameos (who asked, status, dates)
    grants_received.json  grants asked for on others' cameos
    appearances.json    where own cameos appear (every video, whoever made it) and others' cameos in own videos
    comments.json       comments written
    likes.json          videos liked
    follows.json        who is followed, and who follows
    blocks.json         who is blocked
    reports.json        reports made
    ledger.json         revenue ledger entries credited to the account
    statements.json     monthly statements (the same as GET /rights/statements) for every month with an entry
"""

from __future__ import annotations

import json
import posixpath
import zipfile
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

from django.utils import timezone

from backend.cameos.models import Appearance, Cameo, CameoGrant
from backend.core import storage
from backend.creators.models import Block, Follow, User
from backend.moderation.models import Report
from backend.rights.models import LedgerEntry
from backend.rights.selectors import statement
from backend.videos.models import Comment, Like, Video
from media.models import RenderJob

FORMAT_VERSION = 1


def _json_default(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _rows(queryset, *fields: str) -> list[dict]:
    return list(queryset.values(*fields))


class _Archive:
    def __init__(self, path: Path):
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self.entries: list[str] = []

    def json(self, name: str, data) -> None:
        text = json.dumps(data, default=_json_default, ensure_ascii=False, indent=2, sort_keys=True)
        self.zip.writestr(name, text)
        self.entries.append(name)

    def file(self, name: str, *, store, stored_name: str) -> str | None:
        """Copy a stored file into the archive under ``name``; None when the store no longer has it."""
        if not stored_name or not store.exists(stored_name):
            return None
        with store.open(stored_name, "rb") as source, self.zip.open(name, "w", force_zip64=True) as target:
            while chunk := source.read(1024 * 1024):
                target.write(chunk)
        self.entries.append(name)
        return name

    def close(self) -> None:
        self.zip.close()


def _files(archive: _Archive, folder: str, stored: Iterable[str], *, store) -> list[str]:
    return [
        written
        for stored_name in stored
        if (
            written := archive.file(f"{folder}/{posixpath.basename(stored_name)}", store=store, stored_name=stored_name)
        )
    ]


def archive_write(*, user: User, path: Path) -> list[str]:
    """Write ``user``'s archive to ``path``; returns the names it holds."""
    archive = _Archive(path)
    try:
        _write_all(archive, user)
    finally:
        archive.close()
    return archive.entries


def _write_all(archive: _Archive, user: User) -> None:
    archive.json(
        "profile.json",
        {
            "id": user.id,
            "email": user.email,
            "handle": user.handle,
            "display_name": user.display_name,
            "bio": user.bio,
            "birth_date": user.birth_date,
            "tier": user.tier,
            "created_at": user.created_at,
            "avatar": _files(archive, "profile", [user.avatar.name] if user.avatar else [], store=storage.public()),
        },
    )
    video_fields = ("id", "status", "visibility", "prompt", "caption", "parent_id", "root_id", "depth", "duration_s",
                    "width", "height", "like_count", "comment_count", "remix_count", "view_count", "created_at",
                    "published_at", "removed_at", "removed_reason", "withdrawn_at", "withdrawn_reason")  # fmt: skip
    videos = []
    for video in Video.objects.filter(owner=user).order_by("id"):
        row = {field: getattr(video, field) for field in video_fields}
        store = storage.store_for(public_media=video.media_public)
        row["files"] = _files(archive, f"videos/{video.id}", [video.mp4, video.poster, *video.thumbnails], store=store)
        videos.append(row)
    archive.json("videos.json", videos)
    archive.json(
        "renders.json",
        _rows(RenderJob.objects.filter(requester=user).order_by("created_at"), "id", "kind", "prompt", "duration_s",
              "aspect", "resolution", "status", "error_code", "created_at", "finished_at", "result_video_id"),
    )  # fmt: skip
    cameos = []
    for cameo in Cameo.objects.filter(owner=user).prefetch_related("verifications").order_by("id"):
        media = [cameo.reference_image, cameo.reference_clip, cameo.voice_sample]
        media += [verification.clip for verification in cameo.verifications.all()]
        cameos.append(
            {
                "id": cameo.id,
                "kind": cameo.kind,
                "display_name": cameo.display_name,
                "status": cameo.status,
                "audience": cameo.audience,
                "appearance_notes": cameo.appearance_notes,
                "restrictions": cameo.restrictions,
                "verified_at": cameo.verified_at,
                "created_at": cameo.created_at,
                "deleted_at": cameo.deleted_at,
                "verifications": [
                    {
                        "phrase": v.phrase,
                        "status": v.status,
                        "submitted_at": v.submitted_at,
                        "reviewed_at": v.reviewed_at,
                    }
                    for v in cameo.verifications.all()
                ],
                "files": _files(
                    archive, f"cameos/{cameo.id}", [name for name in media if name], store=storage.private()
                ),
            }
        )
    archive.json("cameos.json", cameos)
    grant_fields = ("id", "cameo_id", "status", "requested_at", "decided_at", "revoked_at")
    archive.json(
        "grants_given.json",
        _rows(CameoGrant.objects.filter(cameo__owner=user).order_by("id"), *grant_fields, "grantee__handle"),
    )
    archive.json(
        "grants_received.json",
        _rows(CameoGrant.objects.filter(grantee=user).order_by("id"), *grant_fields, "cameo__owner__handle"),
    )
    appearance_fields = ("cameo_id", "video_id", "video__owner__handle", "created_at", "removed_by_owner_at")
    archive.json(
        "appearances.json",
        {
            "of_my_cameos": _rows(Appearance.objects.filter(cameo__owner=user).order_by("id"), *appearance_fields),
            "in_my_videos": _rows(
                Appearance.objects.filter(video__owner=user).order_by("id"), *appearance_fields, "cameo__owner__handle"
            ),
        },
    )
    archive.json(
        "comments.json",
        _rows(Comment.objects.filter(author=user).order_by("id"), "id", "video_id", "body", "created_at"),
    )
    archive.json("likes.json", _rows(Like.objects.filter(user=user).order_by("created_at"), "video_id", "created_at"))
    archive.json(
        "follows.json",
        {
            "following": _rows(Follow.objects.filter(follower=user).order_by("id"), "followee__handle", "created_at"),
            "followers": _rows(Follow.objects.filter(followee=user).order_by("id"), "follower__handle", "created_at"),
        },
    )
    archive.json(
        "blocks.json", _rows(Block.objects.filter(blocker=user).order_by("id"), "blocked__handle", "created_at")
    )
    archive.json(
        "reports.json",
        _rows(Report.objects.filter(reporter=user).order_by("id"), "id", "reason", "details", "by_cameo_owner",
              "case__content_type__model", "case__object_id", "case__status", "created_at"),
    )  # fmt: skip
    entries = LedgerEntry.objects.filter(user=user).order_by("created_at", "id")
    archive.json(
        "ledger.json",
        _rows(entries, "id", "party", "amount_minor", "currency", "created_at", "event__video_id", "event__kind"),
    )
    months = sorted({(entry.year, entry.month) for entry in entries.dates("created_at", "month")})
    archive.json("statements.json", [statement(user=user, year=year, month=month) for year, month in months])
    archive.json(
        "manifest.json",
        {
            "format_version": FORMAT_VERSION,
            "generated_at": timezone.now(),
            "user_id": user.id,
            "handle": user.handle,
            "entries": [*archive.entries, "manifest.json"],
        },
    )
