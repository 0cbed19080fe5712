"""Rights reads: which characters a text names, whether a use is allowed, and what a month earned."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime

from django.db.models import Count, Max, Sum
from django.utils.translation import gettext_lazy as _

from backend.core import names
from backend.core.db_router import lag_tolerant
from backend.core.errors import DomainError
from backend.core.i18n import Translatable
from backend.rights.models import Character, LedgerEntry, UsageApproval, VideoCharacter


class CharacterRefused(DomainError):
    status_code = 403
    default_code = "character_not_allowed"
    default_detail = _("This character may not be used.")


# --- Policy ---------------------------------------------------------------------


def _character_version() -> tuple:
    return tuple(Character.objects.aggregate(count=Count("id"), top=Max("id"), changed=Max("updated_at")).values())


def _character_entries() -> list[names.Entry]:
    return [
        names.Entry(
            character.id,
            character.name,
            tuple(character.terms),
            tuple(line.strip() for line in character.exceptions.splitlines() if line.strip()),
        )
        for character in Character.objects.order_by("id")
    ]


CHARACTERS = names.NameList("characters", _character_version, _character_entries)


def characters_in(*, text: str, character_ids: list[int] | tuple = ()) -> list[Character]:
    """Characters picked explicitly, plus those a text names (the one name matcher, ``backend.core.names``)."""
    found = {c.id: c for c in Character.objects.filter(id__in=character_ids).select_related("holder")}
    if len(found) != len(set(character_ids)):
        raise DomainError(_("No such character."), code="character_not_found")
    named = [entry.id for entry in names.names_in(CHARACTERS, text) if entry.id not in found]
    if named:
        found.update((c.id, c) for c in Character.objects.filter(id__in=named).select_related("holder").order_by("id"))
    return list(found.values())


def character_text_check(*, user, text: str, field: str) -> None:
    """Refuse (``character_not_allowed``, 403) a caption, comment, name or bio naming a character whose
    holder does not allow its use. (Prompts go through ``character_policy_check`` with the full policy.)"""
    for character in characters_in(text=text):
        if not character.allowed:
            raise CharacterRefused(
                Translatable(
                    "%(character)s may not be used in the %(field)s.",
                    character=character.name,
                    field=names.field_label(field),
                ),
                details={"field": field, "character_id": character.id, "label": character.name},
            )


names.register_text_guard("characters", character_text_check)


def character_policy_check(*, user, characters: list[Character], source_video=None) -> None:
    """Refuse unless every character's policy allows this use by ``user`` now."""
    for character in characters:
        if not character.allowed:
            raise CharacterRefused(
                Translatable("%(character)s may not be used.", character=character.name),
                details={"character_id": character.id},
            )
        if character.scope == Character.Scope.OFFICIAL_REMIXES and not _is_official_remix(character, source_video):
            raise CharacterRefused(
                Translatable("%(character)s may only appear in remixes of official videos.", character=character.name),
                code="character_official_remixes_only",
                details={"character_id": character.id},
            )
        if (
            character.needs_approval
            and not UsageApproval.objects.filter(
                character=character, requester=user, status=UsageApproval.Status.APPROVED
            ).exists()
        ):
            raise CharacterRefused(
                Translatable(
                    "%(holder)s must approve each use of %(character)s; your request is waiting.",
                    holder=character.holder.name,
                    character=character.name,
                ),
                code="character_needs_approval",
                details={"character_id": character.id},
            )


def _is_official_remix(character: Character, source_video) -> bool:
    """Made from a video whose lineage starts with one of the holder's members (the remix's root)."""
    if source_video is None:
        return False
    root = source_video.root if source_video.root_id else source_video
    return character.holder.members.filter(id=root.owner_id).exists()


def character_ids_in_videos(*, video_ids: list[int]) -> list[int]:
    return list(VideoCharacter.objects.filter(video_id__in=video_ids).values_list("character_id", flat=True).distinct())


# --- Statements -----------------------------------------------------------------


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The first instant of the month and of the next one (UTC): a statement covers ``start <= t < end``."""
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def holder_statement(*, holder, year: int, month: int) -> dict:
    """A rights holder's earnings in a month, per character and per video."""
    start, end = month_bounds(year, month)
    entries = LedgerEntry.objects.filter(holder=holder, created_at__gte=start, created_at__lt=end)
    per_character: dict = defaultdict(dict)
    per_video: dict = defaultdict(dict)
    for character, video_id, currency, total in entries.values_list(
        "character__name", "event__video_id", "currency"
    ).annotate(total=Sum("amount_minor")):
        per_character[character][currency] = per_character[character].get(currency, 0) + total
        per_video[video_id].setdefault(currency, {})["rights_holder"] = total
    totals: dict[str, int] = defaultdict(int)
    for currencies in per_character.values():
        for currency, amount in currencies.items():
            totals[currency] += amount
    return {"period": f"{year:04d}-{month:02d}", "totals": dict(totals), "per_video": dict(per_video),
            "per_character": dict(per_character)}  # fmt: skip


@lag_tolerant
def statement(*, user, year: int, month: int) -> dict:
    """What ``user`` (and the rights holders they belong to) earned in a month, per video and per character."""
    start, end = month_bounds(year, month)
    holders = list(user.rights_holders.values_list("id", flat=True))
    entries = LedgerEntry.objects.filter(created_at__gte=start, created_at__lt=end)
    mine = entries.filter(user=user)
    theirs = entries.filter(holder_id__in=holders)
    per_video = defaultdict(dict)
    for video_id, party, currency, total in mine.values_list("event__video_id", "party", "currency").annotate(
        total=Sum("amount_minor")
    ):
        per_video[video_id].setdefault(currency, {})[party] = total
    per_character = defaultdict(dict)
    for character, currency, total in theirs.values_list("character__name", "currency").annotate(
        total=Sum("amount_minor")
    ):
        per_character[character][currency] = total
    totals: dict[str, int] = defaultdict(int)
    for currency, total in (mine | theirs).values_list("currency").annotate(total=Sum("amount_minor")):
        totals[currency] += total
    return {"period": f"{year:04d}-{month:02d}", "totals": dict(totals), "per_video": dict(per_video),
            "per_character": dict(per_character)}  # fmt: skip


def statement_csv(data: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["period", "kind", "item", "party", "currency", "amount_minor"])
    for video_id, currencies in data["per_video"].items():
        for currency, parties in currencies.items():
            for party, amount in parties.items():
                writer.writerow([data["period"], "video", video_id, party, currency, amount])
    for character, currencies in data["per_character"].items():
        for currency, amount in currencies.items():
            writer.writerow([data["period"], "character", character, "rights_holder", currency, amount])
    return out.getvalue()
