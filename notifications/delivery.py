"""Push delivery: what a queued push sends, to which of the recipient's phones, and what happens when a phone
cannot be reached.

``push_send`` is the service behind the ``notifications.push_send`` task. It claims the item's current state
under its row lock (``pushed_at``/``pushed_count`` say what was last sent), commits, and only then calls the
provider, so a redelivered task finds nothing new and sends nothing, and no lock is held while a provider
answers. Devices that failed transiently are retried by the task, those devices only, as long as no newer
push of the item has gone out meanwhile. A crash between the provider's answer and the end of the task loses
that push rather than sending it twice.

What a payload never carries: text a person wrote that a lock screen should not show (a draft's prompt or
caption, a report's details, a comment's body). Its title and body come from the kind and the actors'
handles; its data from the item's id, kind and deep link. The app fetches the rest, with the viewer's
permissions, when it is opened.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from backend.core import metrics
from backend.core.i18n import supported
from backend.creators.models import Block, User
from notifications import selectors
from notifications.models import Channel, Device, Kind, Notification, PushFailure
from notifications.providers import get_provider
from notifications.providers.base import (
    PushConfigurationError,
    PushError,
    PushMessage,
    PushRejected,
    PushTokenDead,
    PushTransientError,
)

logger = logging.getLogger(__name__)

# A teen's phone gets no push from 22:00 to 07:00 in its own time zone (UTC when the app did not say).
QUIET_FROM, QUIET_UNTIL = time(22), time(7)
TOKEN_TAIL = 8

# Each kind's title and body, in one place for the translators (issue 22). ``%(actor)s`` is the newest actor's
# handle; a grouped kind's body names how many others acted ("maya and 41 others liked your video").
_TEXTS: dict[Kind, tuple] = {
    Kind.LIKENESS_RENDER: (_("Your cameo is in use"), _("%(actor)s is making a video with your cameo.")),
    Kind.LIKENESS_DRAFT: (_("Your cameo is in a draft"), _("%(actor)s made a draft with your cameo.")),
    Kind.LIKENESS_PUBLISHED: (_("Your cameo was posted"), _("%(actor)s posted a video with your cameo.")),
    Kind.LIKENESS_REMOVED: (_("Appearance removed"), _("A video with your cameo was removed.")),
    Kind.LIKENESS_NAME: (_("Your name was asked for"), _("Someone asked for a video with your protected name.")),
    Kind.GRANT_REQUESTED: (_("Cameo request"), _("%(actor)s asks to use your cameo.")),
    Kind.GRANT_APPROVED: (_("Request approved"), _("%(actor)s approved your request to use their cameo.")),
    Kind.GRANT_DENIED: (_("Request denied"), _("%(actor)s denied your request to use their cameo.")),
    Kind.GRANT_REVOKED: (_("Access revoked"), _("%(actor)s revoked your access to their cameo.")),
    Kind.VERIFICATION_PASSED: (_("Cameo verified"), _("Your cameo is verified.")),
    Kind.VERIFICATION_REFUSED: (_("Verification refused"), _("Your cameo verification was refused.")),
    Kind.RENDER_SUCCEEDED: (_("Your video is ready"), _("Your render finished.")),
    Kind.RENDER_FAILED: (_("Render failed"), _("Your render could not be finished.")),
    Kind.RENDER_BLOCKED: (_("Render blocked"), _("Your render request was blocked.")),
    Kind.VIDEO_READY: (_("Video processed"), _("Your video finished processing.")),
    Kind.FOLLOW: (
        _("New followers"),
        ngettext_lazy(
            "%(actor)s and %(others)d other followed you.", "%(actor)s and %(others)d others followed you.", "others"
        ),
    ),
    Kind.LIKE: (
        _("Likes on your video"),
        ngettext_lazy(
            "%(actor)s and %(others)d other liked your video.",
            "%(actor)s and %(others)d others liked your video.",
            "others",
        ),
    ),
    Kind.COMMENT: (_("New comment"), _("%(actor)s commented on your video.")),
    Kind.REPLY: (_("New reply"), _("%(actor)s replied to your comment.")),
    Kind.REMIX: (
        _("Remixes of your video"),
        ngettext_lazy(
            "%(actor)s and %(others)d other remixed your video.",
            "%(actor)s and %(others)d others remixed your video.",
            "others",
        ),
    ),
    Kind.MENTION: (_("You were mentioned"), _("%(actor)s mentioned you.")),
    Kind.CHALLENGE_ENTRY: (
        _("New challenge entries"),
        ngettext_lazy(
            "%(actor)s and %(others)d other entered your challenge.",
            "%(actor)s and %(others)d others entered your challenge.",
            "others",
        ),
    ),
    Kind.CONTENT_DECISION: (_("Moderation decision"), _("A moderator decided on your content.")),
    Kind.REPORT_DECISION: (_("Report reviewed"), _("A moderator reviewed your report.")),
    Kind.STRIKE: (_("Strike on your account"), _("Your account received a strike.")),
    Kind.SUSPENDED: (_("Account suspended"), _("Your account is suspended.")),
    Kind.SUSPENSION_ENDED: (_("Suspension ended"), _("Your account is active again.")),
    Kind.USAGE_REQUESTED: (_("Character request"), _("%(actor)s asks to use your character.")),
    Kind.STATEMENT_READY: (_("Statement ready"), _("Your monthly statement is ready.")),
    Kind.EXPORT_READY: (_("Your data is ready"), _("The copy of your data you asked for can be downloaded.")),
}
# A grouped kind with a single actor says it plainly.
_GROUPED_ONE = {
    Kind.FOLLOW: _("%(actor)s followed you."),
    Kind.LIKE: _("%(actor)s liked your video."),
    Kind.REMIX: _("%(actor)s remixed your video."),
    Kind.CHALLENGE_ENTRY: _("%(actor)s entered your challenge."),
}


class PushRetry(PushTransientError):
    """Devices that failed transiently (``device_ids``): the task tries them again with the push of ``pushed_at``."""

    def __init__(self, *, device_ids: list[int], pushed_at: str, cause: PushTransientError):
        super().__init__(str(cause), code=cause.code, retry_after=cause.retry_after)
        self.device_ids = device_ids
        self.pushed_at = pushed_at


@dataclass
class _Claim:
    notification: Notification
    devices: list[Device]
    actor: str | None
    language: str = ""  # the recipient's, from their profile; else each phone's own


def push_send(*, notification_id: int, device_ids: list[int] | None = None, pushed_at: str | None = None) -> int:
    """Send the item's push to the recipient's devices; returns how many took it.

    ``device_ids`` and ``pushed_at`` come only with a retry: the devices that failed transiently when the push
    of ``pushed_at`` went out. Raises ``PushRetry`` when some devices should be tried again.
    """
    claim = _claim(notification_id=notification_id, device_ids=device_ids, pushed_at=pushed_at)
    if claim is None or not claim.devices:
        return 0
    notification, sent, retry, transient = claim.notification, 0, [], None
    try:
        provider = get_provider()
    except PushConfigurationError as error:  # FCM chosen without its project or key: nothing can be sent
        logger.error("push of notification %s not delivered: %s", notification.id, error)
        for device in claim.devices:
            _failure(notification, device, settings.PUSH_PROVIDER, error, permanent=True)
        return 0
    for locale, devices in _by_locale(claim.devices, language=claim.language).items():
        with translation.override(locale):
            message = push_message(notification, actor=claim.actor)
        for device in devices:
            outcome = "delivered"
            try:
                provider.send(device.token, message)
                sent += 1
            except PushTokenDead as error:
                outcome = "token_dead"
                Device.objects.filter(id=device.id, token=device.token).delete()
                _failure(notification, device, provider.name, error, permanent=True)
            except PushTransientError as error:
                outcome = "retry"
                retry.append(device.id)
                if transient is None or (error.retry_after or 0) > (transient.retry_after or 0):
                    transient = error  # the longest wait asked for counts
            except PushRejected as error:
                outcome = "rejected"
                log = logger.error if isinstance(error, PushConfigurationError) else logger.warning
                log("push of notification %s not delivered: %s", notification.id, error)
                _failure(notification, device, provider.name, error, permanent=True)
            metrics.NOTIFICATION_DELIVERIES.labels(provider=provider.name, outcome=outcome).inc()
    if retry:
        raise PushRetry(device_ids=retry, pushed_at=notification.pushed_at.isoformat(), cause=transient)
    return sent


def push_give_up(*, notification_id: int, retry: PushRetry, provider: str) -> None:
    """The task's last attempt failed transiently: record what was not delivered, for operators."""
    notification = Notification.objects.filter(id=notification_id).first()
    if notification is None:
        return
    for device in Device.objects.filter(id__in=retry.device_ids):
        _failure(notification, device, provider, retry, permanent=False)


def push_message(notification: Notification, *, actor: str | None) -> PushMessage:
    """The title, body and data of the item's push, in the active language."""
    kind = Kind(notification.kind)
    title, body = _TEXTS[kind]
    others = notification.actor_count - 1
    if kind in _GROUPED_ONE and others < 1:
        body = _GROUPED_ONE[kind]
    body = body % {"actor": actor or _("Someone"), "others": others}
    data = {"notification_id": str(notification.id), "kind": notification.kind, "deep_link": notification.deep_link}
    return PushMessage(title=str(title), body=str(body), data=data, collapse_key=f"notification-{notification.id}")


@transaction.atomic
def _claim(*, notification_id: int, device_ids: list[int] | None, pushed_at: str | None) -> _Claim | None:
    """Lock the item, decide what is due and to which devices, and mark it pushed; None when nothing is due."""
    notification = Notification.objects.select_for_update().filter(id=notification_id).first()
    if notification is None:
        return None
    if device_ids is None:
        if not _due(notification):
            return None
        devices = Device.objects.filter(user_id=notification.recipient_id)
        notification.pushed_at, notification.pushed_count = timezone.now(), notification.actor_count
        notification.save(update_fields=["pushed_at", "pushed_count"])
    else:
        if notification.pushed_at is None or notification.pushed_at.isoformat() != pushed_at:
            return None  # a newer push of the item went to every device since
        devices = Device.objects.filter(user_id=notification.recipient_id, id__in=device_ids)
    recipient = User.objects.filter(id=notification.recipient_id, is_active=True).first()
    if recipient is None:
        return None
    devices = [device for device in devices.order_by("id") if not (recipient.is_teen and _quiet(device))]
    actor = _newest_actor(notification, recipient)
    return _Claim(notification=notification, devices=devices, actor=actor, language=recipient.language)


def _due(notification: Notification) -> bool:
    """Whether the item holds news its recipient was not pushed yet, has not read, and still wants pushed."""
    if notification.pushed_at is not None and notification.updated_at <= notification.pushed_at:
        return False  # sent already: a redelivered task, or a refresh that found nobody new
    if notification.read_at is not None and notification.read_at >= notification.updated_at:
        return False  # seen in the app before the push went out
    return selectors.preference_enabled(user_id=notification.recipient_id, kind=notification.kind, channel=Channel.PUSH)


def _quiet(device: Device) -> bool:
    try:
        zone = ZoneInfo(device.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    now = datetime.now(zone).time()
    return now >= QUIET_FROM or now < QUIET_UNTIL


def _newest_actor(notification: Notification, recipient: User) -> str | None:
    """The handle of the newest actor the recipient may still see (active, not blocked either way)."""
    if not notification.actor_ids:
        return None
    hidden = Block.objects.filter(Q(blocker_id=recipient.id) | Q(blocked_id=recipient.id))
    handles = dict(
        User.objects.filter(id__in=notification.actor_ids, is_active=True)
        .exclude(id__in=hidden.values("blocker_id"))
        .exclude(id__in=hidden.values("blocked_id"))
        .values_list("id", "handle")
    )
    return next((handles[actor_id] for actor_id in notification.actor_ids if actor_id in handles), None)


def _by_locale(devices: list[Device], *, language: str = "") -> dict[str, list[Device]]:
    """Devices by the language their push is written in: the one the recipient chose on their profile, else
    the phone's (a supported language near it: "zh-TW" is zh-hant), else LANGUAGE_CODE."""
    grouped: dict[str, list[Device]] = defaultdict(list)
    for device in devices:
        grouped[supported(language or device.locale)].append(device)
    return grouped


def _failure(notification: Notification, device: Device, provider: str, error: PushError, *, permanent: bool) -> None:
    PushFailure.objects.create(
        notification=notification,
        device_token_tail=device.token[-TOKEN_TAIL:],
        provider=provider,
        code=error.code[:64],
        message=str(error)[:500],
        permanent=permanent,
    )
