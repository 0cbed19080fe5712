"""Every write about creators: accounts, profiles, follows, blocks, invites."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError
from rest_framework import exceptions
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from backend.core import mail, names, storage
from backend.core.audit import audit_record
from backend.core.errors import Conflict, DomainError, NotFound
from backend.creators import events, selectors, tokens
from backend.creators.models import RESERVED_HANDLES, Block, Follow, InviteCode, InviteRedemption, User

AVATAR_SIZE = 512
# A purged account's handle is ``deleted_<id>`` (``account_personal_data_erase``): nobody may choose one.
PURGED_HANDLE_PREFIX = "deleted_"


class InviteError(DomainError):
    default_code = "invite_invalid"
    default_detail = _("This invite code cannot be used.")


def _invalid(field: str, message: str, code: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: [exceptions.ErrorDetail(message, code=code)]})


def _check_handle_free(handle: str, *, exclude_user_id: int | None = None) -> None:
    if handle.lower() in RESERVED_HANDLES or handle.lower().startswith(PURGED_HANDLE_PREFIX):
        raise _invalid("handle", _("This handle is reserved."), "handle_reserved")
    taken = User.objects.filter(handle__iexact=handle).exclude(id=exclude_user_id)
    if taken.exists():
        raise _invalid("handle", _("This handle is taken."), "handle_taken")


def _check_birth_date(birth_date: date | None) -> None:
    if birth_date is None:
        return
    if birth_date > timezone.localdate():
        raise _invalid("birth_date", _("The birth date is in the future."), "birth_date_future")
    probe = User(birth_date=birth_date)
    if probe.age_years < settings.MINIMUM_AGE_YEARS:
        raise _invalid(
            "birth_date",
            _("You must be at least %(years)d to use Remix.") % {"years": settings.MINIMUM_AGE_YEARS},
            "too_young",
        )


def _redeem_invite(*, code: str | None, user: User, dry_run: bool = False) -> None:
    if not code:
        raise InviteError(_("An invite code is required to sign up."), code="invite_required")
    invite = InviteCode.objects.select_for_update().filter(code=code).first()
    if invite is None or not invite.is_active:
        raise InviteError(_("This invite code does not exist."), code="invite_invalid")
    if invite.expires_at is not None and invite.expires_at <= timezone.now():
        raise InviteError(_("This invite code has expired."), code="invite_expired")
    if invite.uses_left <= 0:
        raise InviteError(_("This invite code has been used up."), code="invite_exhausted")
    if dry_run:
        return
    invite.use_count = F("use_count") + 1
    invite.save(update_fields=["use_count"])
    InviteRedemption.objects.create(invite=invite, user=user)


@transaction.atomic
def user_register(
    *,
    email: str,
    password: str,
    handle: str,
    display_name: str = "",
    birth_date: date | None = None,
    invite_code: str | None = None,
    language: str = "",
) -> User:
    """A new account, unverified: the verification link is mailed to ``email``. ``language`` is the one
    its mails are written in (from the sign-up request)."""
    names.text_guard(user=None, fields={"handle": handle, "display_name": display_name})
    email = User.objects.normalize_email(email).lower()
    owner = User.objects.filter(email__iexact=email).first()
    _check_handle_free(handle)
    _check_birth_date(birth_date)
    user = User(
        email=email, handle=handle, display_name=display_name or handle, birth_date=birth_date, language=language
    )
    try:
        validate_password(password, user=user)
    except DjangoValidationError as error:
        raise exceptions.ValidationError({"password": list(error.messages)}) from error
    user.set_password(password)
    if owner is not None:
        # No account enumeration: a taken email is answered like a new account (same checks, same
        # shape, one mail queued), but nothing is saved; the caller knows by `user._state.adding`. The
        # owner learns of the attempt by mail. Handles are public, so a taken handle still says so.
        if settings.INVITE_ONLY:
            _redeem_invite(code=invite_code, user=user, dry_run=True)  # the same invite errors, none used
        user.id = (User.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
        _mail(owner, "signup_attempt")
        return user
    try:
        # The savepoint keeps the outer transaction usable when a concurrent
        # sign-up took the same handle or email between the check and the insert.
        with transaction.atomic():
            user.save()
    except IntegrityError as error:
        raise Conflict(_("This email or handle was just taken."), code="account_taken") from error
    if settings.INVITE_ONLY:
        _redeem_invite(code=invite_code, user=user)
    _email_verification_mail(user)
    return user


# --- Signing in and out, and proving one's address --------------------------


def _mail(user: User, name: str, *, to: str | None = None, **context) -> None:
    """Queue the account mail ``creators/mail/<name>`` to ``user`` (or to ``to``), in their language."""
    mail.mail_queue(
        to=to or user.email,
        template=f"creators/mail/{name}",
        context={"handle": user.handle, **context},
        language=user.language,
    )


def _link(path: str, **query: str) -> str:
    return f"{settings.APP_URL}/{path}?{urlencode(query)}"


def _email_verification_mail(user: User) -> None:
    link = _link("verify-email", token=tokens.email_verify_token(user))
    _mail(user, "verify_email", link=link, days=settings.EMAIL_VERIFY_MAX_AGE_S // 86400)


@transaction.atomic
def email_verification_resend(*, user: User) -> None:
    """Mail a new verification link, unless the address is verified already (then nothing)."""
    if user.email_verified_at is None:
        _email_verification_mail(user)


@transaction.atomic
def email_verified_set(*, user: User) -> User:
    """Mark the address verified: the owner proved it (a link followed) or an operator vouches for it."""
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


@transaction.atomic
def email_verify(*, token: str) -> User:
    payload = tokens.signed_read(token, salt=tokens.EMAIL_VERIFY_SALT, max_age=settings.EMAIL_VERIFY_MAX_AGE_S)
    user = User.objects.select_for_update().filter(id=payload.get("user")).first()
    # Used already, or made for an address the account no longer has: the same answer as a forgery.
    if user is None or user.email_verified_at is not None or user.email.lower() != str(payload.get("email")).lower():
        raise tokens.TokenInvalid()
    return email_verified_set(user=user)


def _check_password(user: User, password: str) -> None:
    if not user.check_password(password):
        raise _invalid("password", _("The password is not right."), "password_incorrect")


def _password_set(user: User, new_password: str, *, field: str) -> None:
    """Validate and set ``new_password``, end every session (refresh tokens) and tell the owner."""
    try:
        validate_password(new_password, user=user)
    except DjangoValidationError as error:
        raise exceptions.ValidationError({field: list(error.messages)}) from error
    user.set_password(new_password)
    user.save(update_fields=["password"])
    refresh_tokens_blacklist(user=user)
    _mail(user, "password_changed")


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str) -> User:
    """Every refresh token of the account stops working; the caller gets a new pair (the API's job)."""
    user = User.objects.select_for_update().get(id=user.id)
    _check_password(user, old_password)
    _password_set(user, new_password, field="new_password")
    return user


@transaction.atomic
def password_reset_request(*, email: str) -> None:
    """Mail a reset link if an active account has this address; the caller answers the same either way."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    uid, token = tokens.password_reset_pair(user)
    _mail(user, "password_reset", link=_link("reset-password", uid=uid, token=token),
          hours=settings.PASSWORD_RESET_TIMEOUT // 3600)  # fmt: skip


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    user = tokens.password_reset_user(uid=uid, token=token)
    _password_set(user, new_password, field="new_password")
    return email_verified_set(user=user)  # the link reached the address: it is theirs


@transaction.atomic
def email_change_request(*, user: User, new_email: str, password: str) -> None:
    """Mail a confirmation link to ``new_email`` and a notice to the current address; nothing changes
    until the link is followed. A taken address is answered the same: its owner is told instead."""
    user = User.objects.select_for_update().get(id=user.id)
    _check_password(user, password)
    new_email = User.objects.normalize_email(new_email).lower()
    if new_email == user.email.lower():
        raise _invalid("new_email", _("This is your address already."), "email_unchanged")
    _mail(user, "email_change_notice", new_email=new_email)
    owner = User.objects.filter(email__iexact=new_email).first()
    if owner is not None:
        _mail(owner, "email_change_taken")
        return
    link = _link("confirm-email", token=tokens.email_change_token(user, new_email=new_email))
    _mail(user, "email_change_confirm", to=new_email, link=link, new_email=new_email,
          hours=settings.EMAIL_CHANGE_MAX_AGE_S // 3600)  # fmt: skip


@transaction.atomic
def email_change_confirm(*, token: str) -> User:
    payload = tokens.signed_read(token, salt=tokens.EMAIL_CHANGE_SALT, max_age=settings.EMAIL_CHANGE_MAX_AGE_S)
    user = User.objects.select_for_update().filter(id=payload.get("user")).first()
    new_email = str(payload.get("to"))
    # Used already, or the account's address changed since: the token is spent.
    if user is None or user.email.lower() != str(payload.get("from")).lower():
        raise tokens.TokenInvalid()
    if User.objects.filter(email__iexact=new_email).exists():
        raise tokens.TokenInvalid()  # taken since the request: nothing changes
    user.email = new_email
    user.email_verified_at = timezone.now()
    try:
        with transaction.atomic():
            user.save(update_fields=["email", "email_verified_at"])
    except IntegrityError as error:
        raise tokens.TokenInvalid() from error
    return user


def refresh_token_blacklist(*, refresh: str) -> None:
    """Sign out one session: ``refresh`` can mint no more access tokens (those given live out their minutes)."""
    try:
        RefreshToken(refresh).blacklist()
    except TokenError as error:
        raise tokens.TokenInvalid(_("This refresh token is not valid (any more).")) from error


@transaction.atomic
def refresh_tokens_blacklist(*, user: User) -> int:
    """Sign out everywhere: every refresh token of ``user`` still outstanding is blacklisted."""
    outstanding = OutstandingToken.objects.filter(
        user_id=user.id, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    return len(created)


def _avatar_file(upload) -> ContentFile:
    """Re-encode the upload: proves it is an image and drops EXIF (GPS) data."""
    if upload.size > settings.AVATAR_MAX_BYTES:
        raise _invalid("avatar", _("The image is larger than 5 MB."), "file_too_large")
    try:
        with Image.open(upload) as probe:
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            if image.width * image.height > settings.AVATAR_MAX_PIXELS:
                raise _invalid("avatar", _("The image has too many pixels."), "image_too_large")
            image = ImageOps.exif_transpose(image).convert("RGB")
            image = ImageOps.fit(image, (AVATAR_SIZE, AVATAR_SIZE))
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=88)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as error:
        raise _invalid("avatar", _("The file is not a readable image."), "invalid_image") from error
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.jpg")


_UNSET = object()


@transaction.atomic
def profile_update(
    *,
    user: User,
    display_name: str | None = None,
    bio: str | None = None,
    handle: str | None = None,
    birth_date: date | None = None,
    avatar=_UNSET,
    language: str | None = None,
) -> User:
    """Update own profile. ``avatar=None`` removes the avatar; the tier is billing's. ``language``: of mails."""
    names.text_guard(user=user, fields={"handle": handle, "display_name": display_name, "bio": bio})
    user = User.objects.select_for_update().get(id=user.id)
    changed: list[str] = []
    if display_name is not None:
        user.display_name = display_name
        changed.append("display_name")
    if bio is not None:
        user.bio = bio
        changed.append("bio")
    if language is not None:
        user.language = language
        changed.append("language")
    if handle is not None and handle != user.handle:
        _check_handle_free(handle, exclude_user_id=user.id)
        user.handle = handle
        changed.append("handle")
    if birth_date is not None and birth_date != user.birth_date:
        # Set once: otherwise a minor could leave the teen-safety rules by editing it.
        if user.birth_date is not None:
            raise _invalid("birth_date", _("The birth date can only be changed by support."), "birth_date_locked")
        _check_birth_date(birth_date)
        user.birth_date = birth_date
        changed.append("birth_date")
    stored_name = None
    if avatar is not _UNSET:
        old_name = user.avatar.name
        if avatar is None:
            user.avatar = ""
        else:
            content = _avatar_file(avatar)
            stored_name = storage.public().save(f"avatars/{user.id}/{content.name}", content)
            user.avatar.name = stored_name
        changed.append("avatar")
        if old_name:
            transaction.on_commit(lambda: storage.public().delete(old_name))
    if not changed:
        return user
    try:
        with transaction.atomic():
            user.save(update_fields=changed)
    except Exception as error:
        if stored_name:
            storage.public().delete(stored_name)  # no orphaned upload
        if isinstance(error, IntegrityError):
            raise Conflict(_("This handle was just taken."), code="handle_taken") from error
        raise
    return user


@transaction.atomic
def follow_create(*, follower: User, followee: User) -> Follow:
    if follower.id == followee.id:
        raise DomainError(_("You cannot follow yourself."), code="cannot_follow_self")
    if selectors.is_blocked_between(follower.id, followee.id):
        raise NotFound()
    follow = Follow.objects.filter(follower=follower, followee=followee).first()
    if follow is not None:
        return follow
    try:
        with transaction.atomic():
            follow = Follow.objects.create(follower=follower, followee=followee)
    except IntegrityError:
        # A concurrent request from the same follower won; nothing to count.
        return Follow.objects.get(follower=follower, followee=followee)
    User.objects.filter(id=follower.id).update(following_count=F("following_count") + 1)
    User.objects.filter(id=followee.id).update(follower_count=F("follower_count") + 1)
    events.follow_started.send_on_commit(follower_id=follower.id, followee_id=followee.id)
    return follow


def _follow_remove(*, follower_id: int, followee_id: int) -> bool:
    deleted, _ = Follow.objects.filter(follower_id=follower_id, followee_id=followee_id).delete()
    if deleted:
        User.objects.filter(id=follower_id).update(following_count=F("following_count") - 1)
        User.objects.filter(id=followee_id).update(follower_count=F("follower_count") - 1)
        events.follow_ended.send_on_commit(follower_id=follower_id, followee_id=followee_id)
    return bool(deleted)


@transaction.atomic
def follow_delete(*, follower: User, followee: User) -> None:
    """Unfollow. Between mutuals, each loses the other's ``mutuals`` cameos at once."""
    were_mutuals = Follow.objects.filter(follower_id=followee.id, followee_id=follower.id).exists()
    if _follow_remove(follower_id=follower.id, followee_id=followee.id) and were_mutuals:
        events.mutuals_ended.send(sender=None, user_a_id=follower.id, user_b_id=followee.id)


@transaction.atomic
def block_create(*, blocker: User, blocked: User) -> Block:
    """Block someone: follows both ways end, and each disappears for the other."""
    if blocker.id == blocked.id:
        raise DomainError(_("You cannot block yourself."), code="cannot_block_self")
    # Lock both users in primary-key order so two people blocking each other at
    # the same moment cannot deadlock.
    list(User.objects.select_for_update().filter(id__in=[blocker.id, blocked.id]).order_by("id"))
    block, created = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
    if created:
        _follow_remove(follower_id=blocker.id, followee_id=blocked.id)
        _follow_remove(follower_id=blocked.id, followee_id=blocker.id)
        events.block_created.send(sender=None, blocker_id=blocker.id, blocked_id=blocked.id)
        _blocks_changed(blocker.id, blocked.id)
    return block


@transaction.atomic
def block_delete(*, blocker: User, blocked: User) -> None:
    if Block.objects.filter(blocker=blocker, blocked=blocked).delete()[0]:
        _blocks_changed(blocker.id, blocked.id)


def _blocks_changed(*user_ids: int) -> None:
    # In the same transaction as the block: a cache loaded before it can tell it is stale,
    # even when no message about the change could reach it.
    User.objects.filter(id__in=user_ids).update(blocks_changed_at=timezone.now())


@transaction.atomic
def account_suspend(*, user, by, reason: str, days: int | None = None):
    user = User.objects.select_for_update().get(id=user.id)
    before = {"suspended_until": user.suspended_until.isoformat() if user.suspended_until else None}
    user.suspended_until = timezone.now() + timedelta(days=days or settings.SUSPENSION_DAYS)
    user.save(update_fields=["suspended_until"])
    audit_record(actor=by, action="account.suspend", target=user, reason=reason, before=before,
                 after={"suspended_until": user.suspended_until.isoformat()})  # fmt: skip
    events.account_suspended.send_on_commit(user_id=user.id, suspended_until=user.suspended_until.isoformat())
    return user


class PasswordInvalid(DomainError):
    default_code = "password_invalid"
    default_detail = _("The password is not right.")


@transaction.atomic
def account_deletion_request(*, user: User, password: str) -> User:
    """The owner asks for their account to be deleted: it is inactive at once, signed out everywhere,
    and purged after ``ACCOUNT_PURGE_DAYS`` unless they sign in again before (``account_restore``).

    ``account_deactivated`` goes out inside the transaction: its videos, cameos and others' videos
    with its likeness change in the same commit. A suspended account may ask too. Idempotent.
    """
    if not user.check_password(password):
        raise PasswordInvalid()
    user = User.objects.select_for_update().get(id=user.id)
    if user.deletion_requested_at is not None:
        return user
    user.is_active = False
    user.deletion_requested_at = timezone.now()
    user.save(update_fields=["is_active", "deletion_requested_at"])
    refresh_tokens_blacklist(user=user)
    purge_on = user.deletion_requested_at + timedelta(days=settings.ACCOUNT_PURGE_DAYS)
    _mail(user, "account_deletion", days=settings.ACCOUNT_PURGE_DAYS, purge_on=f"{purge_on:%Y-%m-%d}")
    audit_record(actor=user, action="account.deletion_request", target=user,
                 after={"deletion_requested_at": user.deletion_requested_at.isoformat()})  # fmt: skip
    events.account_deactivated.send(sender=None, user_id=user.id)
    return user


@transaction.atomic
def account_restore(*, user: User) -> User:
    """The owner signed in during the grace period: the account is active again, and what its
    deactivation took away comes back where the rules allow it now (``account_restored``). Idempotent;
    a purged account cannot come back."""
    user = User.objects.select_for_update().get(id=user.id)
    if user.deletion_requested_at is None or user.purge_started_at is not None or user.purged_at is not None:
        return user
    deactivated_at = user.deletion_requested_at
    user.is_active = True
    user.deletion_requested_at = None
    user.save(update_fields=["is_active", "deletion_requested_at"])
    audit_record(actor=user, action="account.restore", target=user,
                 before={"deletion_requested_at": deactivated_at.isoformat()})  # fmt: skip
    events.account_restored.send(sender=None, user_id=user.id, deactivated_at=deactivated_at)
    return user


def account_restorable(*, user: User) -> bool:
    """Whether signing in may restore this account: deletion asked for less than ``ACCOUNT_PURGE_DAYS`` ago,
    and no purge begun."""
    grace_started = timezone.now() - timedelta(days=settings.ACCOUNT_PURGE_DAYS)
    requested = user.deletion_requested_at
    begun = user.purge_started_at is not None or user.purged_at is not None
    return requested is not None and requested > grace_started and not begun


@transaction.atomic
def account_purge_begin(*, user: User) -> bool:
    """Mark the account as being purged, under the row lock that ``account_restore`` takes: a sign-in
    either restored it before (False: nothing to purge) or finds it no longer restorable. Idempotent."""
    user = User.objects.select_for_update().get(id=user.id)
    if user.deletion_requested_at is None:
        return False
    if user.purge_started_at is None:
        user.purge_started_at = timezone.now()
        user.save(update_fields=["purge_started_at"])
    return True


def account_restore_on_sign_in(*, email: str, password: str) -> None:
    """Signing in with the right password during the grace period restores the account first, so the
    sign-in that follows succeeds; any other inactive account stays as it is."""
    if "\x00" in email:  # PostgreSQL refuses NUL in text; such an address belongs to nobody
        return
    pending = User.objects.filter(email__iexact=email, deletion_requested_at__isnull=False).first()
    if pending is not None and account_restorable(user=pending) and pending.check_password(password):
        account_restore(user=pending)


@transaction.atomic
def account_ties_end(*, user_id: int) -> dict[str, int]:
    """A purge: every follow and every block of the account, either way, ends; the others' counts follow, as an
    unfollow's do. How many of each. Idempotent."""
    follows = Follow.objects.filter(Q(follower_id=user_id) | Q(followee_id=user_id)).order_by("id")
    ended = list(follows.values_list("follower_id", "followee_id"))
    for follower_id, followee_id in ended:
        _follow_remove(follower_id=follower_id, followee_id=followee_id)
    blocks = Block.objects.filter(Q(blocker_id=user_id) | Q(blocked_id=user_id))
    others = {other for pair in blocks.values_list("blocker_id", "blocked_id") for other in pair} - {user_id}
    unblocked = blocks.delete()[0]
    if unblocked:
        _blocks_changed(user_id, *others)
    return {"follows": len(ended), "blocks": unblocked}


@transaction.atomic
def account_personal_data_erase(*, user: User) -> User:
    """Purge: the row stays (tombstones and the ledger point at it) but says nothing about the person; the
    caller erases the avatar's file. Idempotent.
    """
    user = User.objects.select_for_update().get(id=user.id)
    user.email = f"deleted-{user.id}@deleted.invalid"
    user.handle = f"{PURGED_HANDLE_PREFIX}{user.id}"
    user.display_name = ""
    user.bio = ""
    user.avatar = ""
    user.birth_date = None
    user.language = ""
    user.is_active = False
    user.set_unusable_password()
    user.purged_at = user.purged_at or timezone.now()
    user.save()
    events.account_purged.send(sender=None, user_id=user.id)
    return user
