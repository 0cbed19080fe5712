"""Moderation writes: the audit trail and prompt policy."""

from __future__ import annotations

import math
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone

from backend.core import names
from backend.core.audit import audit_record
from backend.core.errors import DomainError, NotFound
from backend.core.permissions import require_not_suspended
from backend.moderation.models import BlockedTerm, Case, Report, Strike


class PromptRefused(DomainError):
    status_code = 403
    default_code = "prompt_blocked"
    default_detail = "This prompt is not allowed."


def _blocked_version() -> tuple:
    return tuple(
        BlockedTerm.objects.filter(is_active=True)
        .aggregate(count=models.Count("id"), top=models.Max("id"), changed=models.Max("updated_at"))
        .values()
    )


def _blocked_entries() -> list[names.Entry]:
    return [
        names.Entry(term.id, term.term, tuple(term.terms))
        for term in BlockedTerm.objects.filter(is_active=True).order_by("id")
    ]


BLOCKED_TERMS = names.NameList("blocked_terms", _blocked_version, _blocked_entries)


def prompt_blocklist_check(*, text: str, field: str = "prompt", user=None) -> None:
    """Refuse (``prompt_blocked``, 403) a text using a blocked term, in any form the name guard reads."""
    found = names.names_in(BLOCKED_TERMS, text)
    if found:
        raise PromptRefused(
            f"The {field.replace('_', ' ')} uses a blocked term.",
            details={"field": field, "term": found[0].label, "label": found[0].label},
        )


names.register_text_guard("blocked_terms", prompt_blocklist_check)


# --- Reports and cases ------------------------------------------------------------

SEVERITY = {
    "minor_safety": 100, "cameo_misuse": 80, "sexual": 70, "self_harm": 70, "violence": 60, "hate": 60,
    "misinformation": 40, "copyright": 30, "spam": 10, "other": 10,
}  # fmt: skip
CAMEO_OWNER_BOOST = 1000  # the likeness's own owner asking for it to come down goes first


def _reportable(target_type: str, reporter):
    """What ``reporter`` may report: what they may see (``Video.objects.visible_to``), so a report
    answers the same for a hidden object as for none. Moderators (no reporter) reach everything."""
    from backend.cameos.models import Cameo
    from backend.creators.models import User
    from backend.creators.selectors import blocked_user_ids
    from backend.videos.models import Comment, Video

    if reporter is None:
        return {"video": Video, "comment": Comment, "creator": User, "cameo": Cameo}[target_type].objects.all()
    visible_videos = Video.objects.visible_to(reporter)
    if target_type == "video":
        return visible_videos
    if target_type == "comment":
        return Comment.objects.filter(video__in=visible_videos)
    if target_type == "creator":
        return User.objects.filter(is_active=True).exclude(id__in=blocked_user_ids(reporter.id))
    # A cameo one owns, or one seen in a video: misuse is reported where it is seen.
    return (
        Cameo.objects.exclude(status=Cameo.Status.DELETED)
        .filter(Q(owner_id=reporter.id) | Q(appearances__video__in=visible_videos))
        .distinct()
    )


def _target(target_type: str, target_id: int, reporter=None):
    """The reported object, if it exists and the reporter may see it; else 404."""
    target = _reportable(target_type, reporter).filter(id=target_id).first()
    if target is None:
        raise NotFound("Nothing to report there.")
    return target


def _reach(case: Case) -> int:
    if case.target_type != Case.TargetType.VIDEO:
        return 0
    from backend.videos.models import Video

    views = Video.objects.filter(id=case.target_id).values_list("view_count", flat=True).first() or 0
    return int(math.log10(views + 1) * 10)


def _reprioritise(case: Case) -> None:
    reports = list(case.reports.all())
    case.reporter_count = len(reports)
    severity = max(SEVERITY[report.reason] for report in reports)
    boost = CAMEO_OWNER_BOOST if any(report.by_cameo_owner for report in reports) else 0
    case.priority = boost + severity + 5 * min(case.reporter_count, 20) + _reach(case)
    case.save(update_fields=["reporter_count", "priority"])


@transaction.atomic
def report_create(*, reporter, target_type: str, target_id: int, reason: str, details: str = "") -> Report:
    """File a report; a second report by the same person on the same object updates the first."""
    from backend.cameos.models import Appearance

    require_not_suspended(reporter, action="report")
    _target(target_type, target_id, reporter)
    case = Case.objects.select_for_update().filter(target_type=target_type, target_id=target_id,
                                                   status=Case.Status.OPEN).first()  # fmt: skip
    if case is None:
        try:
            with transaction.atomic():
                case = Case.objects.create(target_type=target_type, target_id=target_id)
        except IntegrityError:  # opened by a concurrent report
            case = Case.objects.select_for_update().get(target_type=target_type, target_id=target_id, status="open")
    by_cameo_owner = reason == Report.Reason.CAMEO_MISUSE and (
        (target_type == "video" and Appearance.objects.filter(video_id=target_id, cameo__owner=reporter).exists())
        or (target_type == "cameo" and _target("cameo", target_id, reporter).owner_id == reporter.id)
    )
    report, created = Report.objects.get_or_create(
        case=case, reporter=reporter,
        defaults={"reason": reason, "details": details, "by_cameo_owner": by_cameo_owner},
    )  # fmt: skip
    if not created:
        report.reason = reason if SEVERITY[reason] >= SEVERITY[report.reason] else report.reason
        report.details = details or report.details
        report.by_cameo_owner = report.by_cameo_owner or by_cameo_owner
        report.updated_at = timezone.now()
        report.save(update_fields=["reason", "details", "by_cameo_owner", "updated_at"])
    _reprioritise(case)
    return report


@transaction.atomic
def case_resolve(*, case: Case, by, resolution: str) -> Case:
    case = Case.objects.select_for_update().get(id=case.id)
    if case.status == Case.Status.RESOLVED:
        return case
    case.status = Case.Status.RESOLVED
    case.resolved_at = timezone.now()
    case.resolved_by = by
    case.resolution = resolution[:300]
    case.save(update_fields=["status", "resolved_at", "resolved_by", "resolution"])
    audit_record(actor=by, action="case.resolve", target=case, reason=resolution)
    return case


# --- Strikes and suspensions ------------------------------------------------------


@transaction.atomic
def account_suspend(*, user, by, reason: str, days: int | None = None):
    from backend.creators.models import User

    user = User.objects.select_for_update().get(id=user.id)
    before = {"suspended_until": user.suspended_until.isoformat() if user.suspended_until else None}
    user.suspended_until = timezone.now() + timedelta(days=days or settings.SUSPENSION_DAYS)
    user.save(update_fields=["suspended_until"])
    audit_record(actor=by, action="account.suspend", target=user, reason=reason, before=before,
                 after={"suspended_until": user.suspended_until.isoformat()})  # fmt: skip
    return user


@transaction.atomic
def strike_add(*, user, by, reason: str, case: Case | None = None) -> Strike:
    """A strike; enough active ones suspend the account."""
    now = timezone.now()
    strike = Strike.objects.create(
        user=user,
        reason=reason[:300],
        case=case,
        given_by=by,
        expires_at=now + timedelta(days=settings.STRIKE_TTL_DAYS),
    )
    audit_record(actor=by, action="account.strike", target=user, reason=reason)
    if Strike.objects.filter(user=user, expires_at__gt=now).count() >= settings.STRIKES_TO_SUSPEND:
        account_suspend(user=user, by=by, reason=f"{settings.STRIKES_TO_SUSPEND} active strikes")
    return strike


@transaction.atomic
def video_age_restrict(*, video, by, reason: str):
    """Not for teens, and neither is anything that embeds its frames (remixes, references)."""
    from backend.videos.models import Video
    from backend.videos.services import videos_restrict_for_teens

    video = Video.objects.select_for_update().get(id=video.id)
    if video.safe_for_teens:
        videos_restrict_for_teens(video_ids=[video.id])
        video.refresh_from_db(fields=["safe_for_teens"])
        audit_record(actor=by, action="video.age_restrict", target=video, reason=reason,
                     before={"safe_for_teens": True}, after={"safe_for_teens": False})  # fmt: skip
    return video
