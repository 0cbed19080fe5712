from __future__ import annotations

import secrets
from datetime import date

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

HANDLE_PATTERN = r"^(?!.*\.\.)(?!\.)(?!.*\.$)[A-Za-z0-9_.]{3,30}$"
handle_validator = RegexValidator(
    HANDLE_PATTERN,
    message=_("3 to 30 letters, digits, underscores or dots; no leading, trailing or double dots."),
    code="invalid_handle",
)
# Handles that would be confused with the platform itself or with API paths.
RESERVED_HANDLES = frozenset(
    {
        "admin",
        "administrator",
        "api",
        "me",
        "remix",
        "support",
        "help",
        "moderator",
        "moderation",
        "staff",
        "root",
        "system",
        "official",
        "settings",
        "feed",
        "null",
    }
)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        fields.setdefault("email_verified_at", timezone.now())  # an operator made it, with their address
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, email: str) -> User:
        # Logins are case-insensitive, as the unique constraint is.
        return self.get(email__iexact=email)


def public_storage():
    from django.core.files.storage import storages

    return storages["public"]


class User(AbstractBaseUser, PermissionsMixin):
    """A creator account; the public profile lives on the same row."""

    class Tier(models.TextChoices):
        FREE = "free", "Free"
        PRO = "pro", "Pro"

    email = models.EmailField(max_length=254, unique=True)
    handle = models.CharField(max_length=30, validators=[handle_validator])
    display_name = models.CharField(max_length=60, blank=True)
    bio = models.CharField(max_length=300, blank=True)
    avatar = models.ImageField(upload_to="avatars/", storage=public_storage, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    tier = models.CharField(max_length=8, choices=Tier.choices, default=Tier.FREE)

    # Denormalised so profile pages never count millions of rows; kept in step
    # by the follow services inside the same transaction.
    follower_count = models.PositiveIntegerField(default=0)
    following_count = models.PositiveIntegerField(default=0)

    # Set when the owner followed the link mailed to this address; until then the account may browse
    # and make drafts, but not publish, create cameos or ask for others' (backend/core/permissions.py).
    email_verified_at = models.DateTimeField(null=True, blank=True)
    # The language mails are written in: the sign-up request's Accept-Language; "" for LANGUAGE_CODE.
    language = models.CharField(max_length=16, blank=True, default="")
    is_active = models.BooleanField(default=True)
    # Moderation: a suspended account may browse but not render, publish, comment or ask for cameos.
    suspended_until = models.DateTimeField(null=True, blank=True)
    # Changes with every block made or lifted, by or against this user: caches of who is
    # hidden from whom (the feed's) compare it with what they were loaded with.
    blocks_changed_at = models.DateTimeField(null=True, blank=True)
    is_staff = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    # The owner asked for the account to be deleted (it is inactive meanwhile): signing in before
    # ACCOUNT_PURGE_DAYS have passed restores it; after that, data_rights purges it.
    deletion_requested_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Set once personal data and stored files were erased; the row stays, anonymous, for tombstones and the ledger.
    purged_at = models.DateTimeField(null=True, blank=True)
    # Set under the row lock as a purge begins: from then on signing in cannot bring the account back.
    purge_started_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["handle"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.UniqueConstraint(Lower("handle"), name="user_handle_ci_unique"),
        ]
        indexes = [
            # Beat looks for suspensions that just ran out (notifications): the few suspended accounts only.
            models.Index(
                fields=["suspended_until"], condition=models.Q(suspended_until__isnull=False), name="user_suspended"
            ),
        ]

    def __str__(self) -> str:
        return f"@{self.handle}"

    @property
    def age_years(self) -> int | None:
        if self.birth_date is None:
            return None
        today = date.today()
        before_birthday = (today.month, today.day) < (self.birth_date.month, self.birth_date.day)
        return today.year - self.birth_date.year - before_birthday

    @property
    def is_teen(self) -> bool:
        """Minors get the teen-safety rules. Unknown age counts as adult until given."""
        age = self.age_years
        return age is not None and age < settings.ADULT_AGE_YEARS


class Follow(models.Model):
    follower = models.ForeignKey(User, on_delete=models.CASCADE, related_name="following_edges")
    followee = models.ForeignKey(User, on_delete=models.CASCADE, related_name="follower_edges")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="follow_once"),
            models.CheckConstraint(condition=~models.Q(follower=models.F("followee")), name="follow_not_self"),
        ]
        indexes = [models.Index(fields=["followee", "-created_at"], name="follow_followee_recent")]

    def __str__(self) -> str:
        return f"{self.follower} → {self.followee}"


class Block(models.Model):
    blocker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks_made")
    blocked = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks_received")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_once"),
            models.CheckConstraint(condition=~models.Q(blocker=models.F("blocked")), name="block_not_self"),
        ]
        indexes = [models.Index(fields=["blocked"], name="block_blocked")]

    def __str__(self) -> str:
        return f"{self.blocker} ⊘ {self.blocked}"


def _new_invite_code() -> str:
    return secrets.token_urlsafe(9)


class InviteCode(models.Model):
    code = models.CharField(max_length=32, unique=True, default=_new_invite_code)
    max_uses = models.PositiveIntegerField(default=1, help_text="1 for a single-use code.")
    use_count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True, help_text="Who it is for, why.")
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(use_count__lte=models.F("max_uses")), name="invite_within_uses"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def uses_left(self) -> int:
        return self.max_uses - self.use_count


class InviteRedemption(models.Model):
    invite = models.ForeignKey(InviteCode, on_delete=models.PROTECT, related_name="redemptions")
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="invite_redemption")
    redeemed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.invite} by {self.user}"
