"""Rules that hold on every API endpoint, so no view can forget them.

``NotSuspendedForWrites`` sits in ``DEFAULT_PERMISSION_CLASSES``: a suspended
account may browse, but every write through the API (edits and undos included)
is refused with ``account_suspended``; and an account whose email is not verified
is refused (``email_unverified``) what would show its work or likeness to others
or ask for someone else's (``VERIFIED_EMAIL_REQUIRED``). Services keep their own
``require_not_suspended`` calls, so paths that do not come through the API
(tasks, the admin acting for a user) are refused too.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from backend.core.errors import AccountSuspended, EmailUnverified

# Writes a suspended account may still make, by URL name and method. Signing in
# and viewing telemetry are not edits. Withdrawing consent to one's own likeness,
# and blocking someone, must never wait for a suspension to end: consent is
# revocable at once, whoever holds it.
ALLOWED_WHILE_SUSPENDED: dict[str, set[str]] = {
    "auth-register": {"POST"},
    "auth-token": {"POST"},
    "auth-token-refresh": {"POST"},
    # Securing an account (and proving its address) never waits for a suspension to end.
    "auth-logout": {"POST"},
    "auth-logout-everywhere": {"POST"},
    "auth-password": {"POST"},
    "auth-password-reset": {"POST"},
    "auth-password-reset-confirm": {"POST"},
    "auth-verify-email": {"POST"},
    "auth-verify-email-resend": {"POST"},
    "feed-events": {"POST"},
    "cameo": {"DELETE"},
    "cameo-grant-deny": {"POST"},
    "cameo-grant-revoke": {"POST"},
    "cameo-appearance": {"DELETE"},
    "creator-block": {"POST"},
    # Leaving, and taking a copy of one's data, are rights a suspension does not suspend.
    "me": {"DELETE"},
    "me-exports": {"POST"},
    # Their own inbox: a suspended account still reads (and clears) the notice of its suspension.
    "notifications-read": {"POST"},
    "notification-read": {"POST"},
    "notification-preferences": {"PUT"},
    # Their phones: to hear when the suspension ends, and to stop pushes on signing out.
    "devices": {"POST"},
    "device": {"DELETE"},
}

# Writes that need a verified email, by URL name and method: publishing, creating a cameo and
# asking for someone's cameo. Everything else (browsing, drafts, likes) works before verification.
VERIFIED_EMAIL_REQUIRED: dict[str, set[str]] = {
    "video-publish": {"POST"},
    "cameos": {"POST"},
    "cameo-grants": {"POST"},
}


def require_not_suspended(user, *, action: str) -> None:
    """Refuse ``action`` while ``user``'s suspension lasts; anonymous users and active accounts pass."""
    until = getattr(user, "suspended_until", None)
    if until is not None and until > timezone.now():
        raise AccountSuspended(
            _("Your account is suspended until %(until)s UTC; you cannot %(action)s until then.")
            % {"until": f"{until:%Y-%m-%d %H:%M}", "action": action},
            details={"until": until.isoformat()},
        )


class NotSuspendedForWrites(BasePermission):
    """Unsafe methods from a suspended account are refused in the error envelope (403 ``account_suspended``)."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        url_name = request.resolver_match.url_name if request.resolver_match is not None else None
        if request.method not in ALLOWED_WHILE_SUSPENDED.get(url_name, ()):
            # Raised rather than returning False, so the envelope carries the code and the date it ends.
            require_not_suspended(request.user, action=_("make changes"))
        if request.method in VERIFIED_EMAIL_REQUIRED.get(url_name, ()):
            user = request.user
            if user.is_authenticated and user.email_verified_at is None:
                raise EmailUnverified()
        return True
