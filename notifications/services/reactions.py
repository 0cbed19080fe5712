"""Who is told of what: one function per domain event that notifies someone.

Each runs in a task of the ``notifications`` queue (``notifications.tasks``), written to the outbox
with the cause (``notifications.receivers``). It loads the rows the event names and calls ``notify``
(or ``group_refresh``) for the people concerned; both are idempotent, so a redelivered message
changes nothing. An event that a later change superseded (a grant decided again, a video restored
before its removal was told) tells nobody: the later event tells what holds. Items carry ids and
codes only, never private text such as a prompt.
"""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta

from django.conf import settings
from django.db.models.functions import Lower
from django.utils import timezone
from django_redis import get_redis_connection
from redis import RedisError

from backend.cameos import selectors as cameo_selectors
from backend.cameos.models import Appearance, Cameo, CameoGrant, CameoVerification
from backend.cameos.selectors import ProtectedLikenessRefused
from backend.core.models import AuditLogEntry
from backend.creators.models import User
from backend.moderation.models import Case, Strike
from backend.rights import selectors as rights_selectors
from backend.rights.models import LedgerEntry, RightsHolder, UsageApproval, VideoCharacter
from backend.videos.models import Comment, Video
from media.models import RenderJob
from notifications.models import Kind
from notifications.services.inbox import group_refresh, notify

# How long a grouped item's pending refresh holds back the next one (``receivers._group_refresh_soon``).
GROUP_REFRESH_PENDING_S = 60


# At most this many @handles of one caption or comment are told.
MENTIONS_MAX = 10


MENTION_PATTERN = re.compile(r"(?<![\w@.])@([A-Za-z0-9_.]{3,30})")


def pending_refresh_key(*, recipient_id: int, kind: str, target_type: str, target_id: int | str) -> str:
    # The recipient's hash tag keeps their keys on one Redis Cluster slot, as the feed store's do.
    return f"{settings.FEED_KEY_PREFIX}:notifications:refresh:{{u{recipient_id}}}:{kind}:{target_type}:{target_id}"


def group_refresh_pending(*, recipient_id: int, kind: str, target_type: str, target_id: str) -> None:
    # The pending mark goes before the count, never after (the race: receivers._group_refresh_soon).
    key = pending_refresh_key(recipient_id=recipient_id, kind=kind, target_type=target_type, target_id=target_id)
    with contextlib.suppress(RedisError):  # else the mark expires by itself
        get_redis_connection("default").delete(key)
    group_refresh(recipient_id=recipient_id, kind=Kind(kind), target_type=target_type, target_id=target_id)


def _video_target(video_id: int) -> dict:
    return {"target_type": "video", "target_id": video_id, "deep_link": f"/videos/{video_id}"}


def _cameo_target(cameo_id: int, path: str = "") -> dict:
    return {"target_type": "cameo", "target_id": cameo_id, "deep_link": f"/cameos/{cameo_id}{path}"}


def _render_target(job: RenderJob) -> dict:
    return {"target_type": "render", "target_id": job.id, "deep_link": f"/renders/{job.id}"}


def render_requested_notify(*, job_id: str) -> None:
    """Likeness: every cameo the render carries (asked for, or through a remixed source or a matched
    reference) tells its owner, the moment it is queued."""
    job = RenderJob.objects.filter(id=job_id).first()
    if job is None:
        return
    for cameo in job.cameos.order_by("id"):
        notify(recipient_id=cameo.owner_id, kind=Kind.LIKENESS_RENDER, key=f"render:{job.id}",
                        actor_id=job.requester_id, **_cameo_target(cameo.id, "/appearances"))  # fmt: skip


def render_finished_notify(*, job_id: str, status: str) -> None:
    """Creation, to the requester: succeeded, failed or blocked (with the reason code); a cancelled
    render was the requester's own doing, or a consent withdrawn that they hear of otherwise.
    Likeness: a succeeded render's draft tells the owners of its cameos; a prompt blocked for naming a
    protected person tells the verified owner of that likeness who asked for it."""
    job = RenderJob.objects.filter(id=job_id).first()
    if job is None or job.status != status:
        return
    key = f"render:{job.id}"
    if status == RenderJob.Status.SUCCEEDED:
        notify(recipient_id=job.requester_id, kind=Kind.RENDER_SUCCEEDED, key=key,
                        data={"video_id": job.result_video_id}, **_render_target(job))  # fmt: skip
        for cameo in job.cameos.order_by("id"):
            notify(recipient_id=cameo.owner_id, kind=Kind.LIKENESS_DRAFT, key=f"video:{job.result_video_id}",
                            actor_id=job.requester_id, **_video_target(job.result_video_id))  # fmt: skip
    elif status in (RenderJob.Status.FAILED, RenderJob.Status.BLOCKED):
        kind = Kind.RENDER_FAILED if status == RenderJob.Status.FAILED else Kind.RENDER_BLOCKED
        notify(recipient_id=job.requester_id, kind=kind, key=key, data={"reason": job.error_code},
                        **_render_target(job))  # fmt: skip
        if job.error_code == ProtectedLikenessRefused.default_code:
            _protected_name_notify(job)


def _protected_name_notify(job: RenderJob) -> None:
    named = cameo_selectors.protected_likenesses_in(text=job.prompt)
    verified = Cameo.objects.filter(kind=Cameo.Kind.PERSON, status=Cameo.Status.ACTIVE, protected_likeness__in=named)
    for cameo in verified.order_by("id"):
        notify(recipient_id=cameo.owner_id, kind=Kind.LIKENESS_NAME, key=f"render:{job.id}",
                        actor_id=job.requester_id, **_cameo_target(cameo.id))  # fmt: skip


def grant_requested_notify(*, grant_id: int) -> None:
    grant = CameoGrant.objects.select_related("cameo").filter(id=grant_id).first()
    if grant is None or grant.status != CameoGrant.Status.REQUESTED:
        return
    notify(recipient_id=grant.cameo.owner_id, kind=Kind.GRANT_REQUESTED, key=f"grant:{grant.id}",
                    actor_id=grant.grantee_id, target_type="grant", target_id=grant.id,
                    deep_link=f"/cameos/{grant.cameo_id}/grants")  # fmt: skip


_GRANT_DECISIONS = {
    CameoGrant.Status.APPROVED: Kind.GRANT_APPROVED,
    CameoGrant.Status.DENIED: Kind.GRANT_DENIED,
    CameoGrant.Status.REVOKED: Kind.GRANT_REVOKED,
}


def grant_decided_notify(*, grant_id: int, status: str) -> None:
    grant = CameoGrant.objects.select_related("cameo").filter(id=grant_id).first()
    if grant is None or grant.status != status:
        return
    # A grant may be approved, revoked and approved again: each decision is an event of its own.
    decided_at = grant.revoked_at if status == CameoGrant.Status.REVOKED else grant.decided_at
    notify(recipient_id=grant.grantee_id, kind=_GRANT_DECISIONS[status],
                    key=f"grant:{grant.id}:{decided_at.timestamp()}", actor_id=grant.cameo.owner_id,
                    **_cameo_target(grant.cameo_id))  # fmt: skip


def verification_decided_notify(*, verification_id: int, status: str) -> None:
    verification = CameoVerification.objects.select_related("cameo").filter(id=verification_id).first()
    if verification is None or verification.status != status:
        return
    passed = status == CameoVerification.Status.APPROVED
    notify(recipient_id=verification.cameo.owner_id,
                    kind=Kind.VERIFICATION_PASSED if passed else Kind.VERIFICATION_REFUSED,
                    key=f"verification:{verification.id}", **_cameo_target(verification.cameo_id))  # fmt: skip


def mentioned_handles(text: str) -> list[str]:
    """The distinct @handles of a text, casefolded, in order, at most ``MENTIONS_MAX``."""
    handles: dict[str, None] = {}
    for handle in MENTION_PATTERN.findall(text):
        handles.setdefault(handle.rstrip(".").casefold())
    return list(handles)[:MENTIONS_MAX]


def _mentions_notify(*, text: str, video: Video, actor_id: int, key: str, skip: frozenset = frozenset(), data=None):
    """Tell the people a text mentions, those who may see the video it is on."""
    handles = mentioned_handles(text)
    if not handles:
        return
    mentioned = User.objects.annotate(handle_ci=Lower("handle")).filter(handle_ci__in=handles, is_active=True)
    for user in mentioned.exclude(id__in=skip).order_by("id"):
        if video.is_visible_to(user):  # a mention never shows a video to someone who may not see it
            notify(recipient_id=user.id, kind=Kind.MENTION, key=key, actor_id=actor_id, data=data,
                            **_video_target(video.id))  # fmt: skip


def video_published_notify(*, video_id: int) -> None:
    """Likeness: the owners of its cameos. Remix: the source's owner, grouped on the source (direct,
    not through a pending mark: a remix is a render, nothing storms). Mentions in the caption."""
    video = Video.objects.filter(id=video_id, status=Video.Status.PUBLISHED).first()
    if video is None:
        return
    owners = Appearance.objects.filter(video_id=video.id).values_list("cameo__owner_id", flat=True)
    for owner_id in sorted(set(owners)):
        notify(recipient_id=owner_id, kind=Kind.LIKENESS_PUBLISHED, key=f"video:{video.id}",
                        actor_id=video.owner_id, **_video_target(video.id))  # fmt: skip
    if video.parent_id:
        parent_owner_id = Video.objects.filter(id=video.parent_id).values_list("owner_id", flat=True).first()
        group_refresh(recipient_id=parent_owner_id, kind=Kind.REMIX, target_type="video",
                               target_id=video.parent_id)  # fmt: skip
    _mentions_notify(text=video.caption, video=video, actor_id=video.owner_id, key=f"video:{video.id}")


def comment_created_notify(*, comment_id: int) -> None:
    """The video's owner, and the people the comment mentions (not the owner twice)."""
    comment = Comment.objects.select_related("video").filter(id=comment_id).first()
    if comment is None:
        return
    video, data = comment.video, {"comment_id": comment.id}
    notify(recipient_id=video.owner_id, kind=Kind.COMMENT, key=f"comment:{comment.id}",
                    actor_id=comment.author_id, data=data, **_video_target(video.id))  # fmt: skip
    _mentions_notify(text=comment.body, video=video, actor_id=comment.author_id, key=f"comment:{comment.id}",
                     skip=frozenset({video.owner_id}), data=data)  # fmt: skip


def _latest_audit(video: Video, action: str) -> AuditLogEntry | None:
    entries = AuditLogEntry.objects.filter(action=action, target_type="videos.video", target_id=str(video.id))
    return entries.order_by("-id").first()


def video_removed_notify(*, video_id: int, by_id: int | None) -> None:
    """Someone other than its creator took a video down. The creator hears of the decision: removed by
    the owner of a cameo in it (named), at a character's rights holder's request, or by moderation
    (neither named). The owners of its other cameos hear that an appearance of theirs is gone; the one
    who removed it knows."""
    video = Video.objects.filter(id=video_id, status=Video.Status.REMOVED).first()
    entry = _latest_audit(video, "video.remove") if video else None
    if entry is None:
        return  # restored meanwhile: nothing to tell
    cameo_owners = set(Appearance.objects.filter(video_id=video.id).values_list("cameo__owner_id", flat=True))
    holders = VideoCharacter.objects.filter(video_id=video.id, character__holder__members__id=by_id)
    if by_id in cameo_owners:
        reason, actor_id = "appearance_removed", by_id
    else:
        reason, actor_id = ("rights_holder" if holders.exists() else "moderation"), None
    key = f"video:{video.id}:{entry.id}"
    notify(recipient_id=video.owner_id, kind=Kind.CONTENT_DECISION, key=key, actor_id=actor_id,
                    data={"decision": "removed", "reason": reason}, **_video_target(video.id))  # fmt: skip
    for cameo in Cameo.objects.filter(appearances__video_id=video.id).exclude(owner_id=by_id).order_by("id"):
        notify(recipient_id=cameo.owner_id, kind=Kind.LIKENESS_REMOVED, key=key, actor_id=actor_id,
                        data={"reason": reason, "video_id": video.id},
                        **_cameo_target(cameo.id, "/appearances"))  # fmt: skip


def video_restored_notify(*, video_id: int) -> None:
    video = Video.objects.exclude(status=Video.Status.REMOVED).filter(id=video_id).first()
    entry = _latest_audit(video, "video.restore") if video else None
    if entry is None:
        return
    notify(recipient_id=video.owner_id, kind=Kind.CONTENT_DECISION, key=f"video:{video.id}:{entry.id}",
                    data={"decision": "restored"}, **_video_target(video.id))  # fmt: skip


def case_resolved_notify(*, case_id: int) -> None:
    """Each reporter hears that their report was decided, and whether action was taken (never the
    moderator's note, nor who else reported)."""
    case = Case.objects.filter(id=case_id, status=Case.Status.RESOLVED).first()
    if case is None:
        return
    # The review queue resolves a case with "<what was done>: <note>"; "dismissed" took no action.
    outcome = "no_action" if case.resolution.startswith("dismissed") else "action_taken"
    for report in case.reports.order_by("id"):
        notify(recipient_id=report.reporter_id, kind=Kind.REPORT_DECISION, key=f"case:{case.id}",
                        target_type="report", target_id=report.id, deep_link=f"/reports/{report.id}",
                        data={"outcome": outcome, "target_type": case.target_type})  # fmt: skip


def strike_added_notify(*, strike_id: int) -> None:
    strike = Strike.objects.filter(id=strike_id).first()
    if strike is None:
        return
    active = Strike.objects.filter(user_id=strike.user_id, expires_at__gt=strike.created_at).count()
    notify(recipient_id=strike.user_id, kind=Kind.STRIKE, key=f"strike:{strike.id}",
                    target_type="strike", target_id=strike.id, deep_link="/me",
                    data={"active_strikes": active, "expires_at": strike.expires_at.isoformat()})  # fmt: skip


def account_suspended_notify(*, user_id: int, suspended_until: str) -> None:
    notify(recipient_id=user_id, kind=Kind.SUSPENDED, key=f"suspension:{suspended_until}",
                    target_type="creator", target_id=user_id, deep_link="/me",
                    data={"until": suspended_until})  # fmt: skip


def data_export_ready_notify(*, user_id: int, export_id: int) -> None:
    # The download link itself travels only by mail: the inbox says where to ask for it again.
    notify(recipient_id=user_id, kind=Kind.EXPORT_READY, key=f"export:{export_id}",
                    target_type="export", target_id=export_id, deep_link="/me/exports")  # fmt: skip


def usage_approval_requested_notify(*, approval_id: int) -> None:
    """Every member of the character's rights holder."""
    approval = UsageApproval.objects.select_related("character__holder").filter(id=approval_id).first()
    if approval is None or approval.status != UsageApproval.Status.REQUESTED:
        return
    character = approval.character
    for member_id in character.holder.members.order_by("id").values_list("id", flat=True):
        notify(recipient_id=member_id, kind=Kind.USAGE_REQUESTED, key=f"usage_approval:{approval.id}",
                        actor_id=approval.requester_id, target_type="character", target_id=character.id,
                        deep_link=f"/characters/{character.id}", data={"approval_id": approval.id})  # fmt: skip


# --- Moments nothing sends an event for: beat asks ------------------------------------------------


def suspensions_ended_notify() -> None:
    """Suspensions end by the clock, not by a change anyone makes: beat looks every few minutes for
    those that ended in the last day (each is told once: its key names the end)."""
    now = timezone.now()
    ended = User.objects.filter(suspended_until__gt=now - timedelta(days=1), suspended_until__lte=now, is_active=True)
    for user_id, until in ended.values_list("id", "suspended_until").order_by("id"):
        notify(recipient_id=user_id, kind=Kind.SUSPENSION_ENDED, key=f"suspension:{until.isoformat()}",
               target_type="creator", target_id=user_id, deep_link="/me")  # fmt: skip


def statements_ready_notify(*, year: int | None = None, month: int | None = None) -> None:
    """A month closed (by default the one before this): everyone the ledger owes something for it, directly
    or through a rights holder they belong to, hears that its statement is ready (once per month)."""
    if year is None or month is None:
        last_month = timezone.now().replace(day=1) - timedelta(days=1)
        year, month = last_month.year, last_month.month
    start, end = rights_selectors.month_bounds(year, month)
    entries = LedgerEntry.objects.filter(created_at__gte=start, created_at__lt=end)
    holders = entries.exclude(holder=None).values("holder_id")
    members = RightsHolder.members.through.objects.filter(rightsholder_id__in=holders).values_list("user_id", flat=True)
    period = f"{year:04d}-{month:02d}"
    for user_id in sorted(set(entries.exclude(user=None).values_list("user_id", flat=True)) | set(members)):
        notify(recipient_id=user_id, kind=Kind.STATEMENT_READY, key=f"statement:{period}", target_type="statement",
               target_id=period, deep_link=f"/rights/statements?period={period}", data={"period": period})  # fmt: skip
