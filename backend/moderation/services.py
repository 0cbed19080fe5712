"""Moderation writes: reports, cases and strikes (the reads are in ``backend.moderation.selectors``)."""

from __future__ import annotations

import math
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.cameos.models import Appearance
from backend.core.audit import audit_record
from backend.core.permissions import require_not_suspended
from backend.creators import services as creator_services
from backend.moderation import events, selectors
from backend.moderation.models import Case, Report, Strike
from backend.videos.models import Video

# --- Reports and cases ------------------------------------------------------------

SEVERITY = {
    "minor_safety": 100, "cameo_misuse": 80, "sexual": 70, "self_harm": 70, "violence": 60, "hate": 60,
    "misinformation": 40, "copyright": 30, "spam": 10, "other": 10,
}  # fmt: skip
CAMEO_OWNER_BOOST = 1000  # the likeness's own owner asking for it to come down goes first


def _reach(case: Case) -> int:
    if case.target_type != Case.TargetType.VIDEO:
        return 0
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
    require_not_suspended(reporter, action=_("report"))
    target = selectors.report_target(target_type=target_type, target_id=target_id, reporter=reporter)
    about = Case.about(target_type, target_id)
    case = Case.objects.select_for_update().filter(**about, status=Case.Status.OPEN).first()
    if case is None:
        try:
            with transaction.atomic():
                case = Case.objects.create(**about)
        except IntegrityError:  # opened by a concurrent report
            case = Case.objects.select_for_update().get(**about, status=Case.Status.OPEN)
    in_it = Appearance.objects.filter(video_id=target_id, cameo__owner=reporter)
    by_cameo_owner = reason == Report.Reason.CAMEO_MISUSE and (
        (target_type == Case.TargetType.VIDEO and in_it.exists())
        or (target_type == Case.TargetType.CAMEO and target.owner_id == reporter.id)
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
    events.case_resolved.send_on_commit(case_id=case.id)
    return case


# --- Strikes and suspensions ------------------------------------------------------


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
    events.strike_added.send_on_commit(strike_id=strike.id)
    if Strike.objects.filter(user=user, expires_at__gt=now).count() >= settings.STRIKES_TO_SUSPEND:
        creator_services.account_suspend(user=user, by=by, reason=f"{settings.STRIKES_TO_SUSPEND} active strikes")
    return strike
