"""Moderation reads: the blocked-terms list, what a reporter may report, and their own reports."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from backend.cameos.models import Cameo
from backend.core import names
from backend.core.errors import DomainError, NotFound
from backend.core.i18n import Translatable
from backend.creators.models import User
from backend.creators.selectors import blocked_user_ids
from backend.moderation.models import BlockedTerm, Report
from backend.videos.models import Comment, Video


class PromptRefused(DomainError):
    status_code = 403
    default_code = "prompt_blocked"
    default_detail = _("This prompt is not allowed.")


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
            Translatable("The %(field)s uses a blocked term.", field=names.field_label(field)),
            details={"field": field, "term": found[0].label, "label": found[0].label},
        )


names.register_text_guard("blocked_terms", prompt_blocklist_check)


# --- What may be reported -----------------------------------------------------------


def reportable_by(*, target_type: str, reporter) -> models.QuerySet:
    """What ``reporter`` may report: what they may see (``Video.objects.visible_to``), so a report
    answers the same for a hidden object as for none. Moderators (no reporter) reach everything."""
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


def report_target(*, target_type: str, target_id: int, reporter=None):
    """The reported object, if it exists and the reporter may see it; else 404."""
    target = reportable_by(target_type=target_type, reporter=reporter).filter(id=target_id).first()
    if target is None:
        raise NotFound(_("Nothing to report there."))
    return target


def report_of(*, reporter: User, report_id: int) -> Report:
    """One of ``reporter``'s own reports; 404 for anyone else's, exactly as for one that does not exist."""
    report = Report.objects.select_related("case").filter(reporter=reporter, id=report_id).first()
    if report is None:
        raise NotFound(_("No such report."))
    return report
