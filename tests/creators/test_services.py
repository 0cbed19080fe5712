import io
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from rest_framework.exceptions import ValidationError

from backend.core import storage
from backend.core.errors import DomainError, NotFound
from backend.creators import services
from backend.creators.models import Block, Follow, User
from tests.factories import InviteCodeFactory, UserFactory

pytestmark = pytest.mark.django_db

STRONG = "violet-lantern-orbit-42"


def register(**overrides):
    fields = {"email": "ana@example.com", "password": STRONG, "handle": "ana"} | overrides
    return services.user_register(**fields)


def image_upload(name="face.png", size=(800, 600), fmt="PNG"):
    buffer = io.BytesIO()
    Image.new("RGB", size, "orange").save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


def error_codes(excinfo, field):
    return [detail.code for detail in excinfo.value.detail[field]]


class TestRegister:
    def test_creates_an_account_that_can_log_in(self):
        user = register(email="Ana@Example.COM")
        assert user.email == "ana@example.com"
        assert user.check_password(STRONG)
        assert user.display_name == "ana"

    def test_handle_is_unique_whatever_the_case(self):
        register()
        with pytest.raises(ValidationError) as excinfo:
            register(email="other@example.com", handle="ANA")
        assert error_codes(excinfo, "handle") == ["handle_taken"]

    def test_a_taken_email_whatever_the_case_creates_nothing_and_says_nothing(self):
        first = register()
        shadow = register(email="ANA@example.com", handle="ana2")
        assert shadow._state.adding  # answered like a new account, never saved
        assert list(User.objects.values_list("id", flat=True)) == [first.id]

    @pytest.mark.parametrize("password", ["short", "password123", "1234567890123", "ana@example.com"])
    def test_weak_passwords_are_refused(self, password):
        with pytest.raises(ValidationError) as excinfo:
            register(password=password)
        assert "password" in excinfo.value.detail
        assert not User.objects.exists()

    def test_reserved_handles_are_refused(self):
        with pytest.raises(ValidationError) as excinfo:
            register(handle="Admin")
        assert error_codes(excinfo, "handle") == ["handle_reserved"]

    def test_children_under_the_minimum_age_cannot_sign_up(self):
        with pytest.raises(ValidationError) as excinfo:
            register(birth_date=timezone.localdate() - timedelta(days=365 * 12))
        assert error_codes(excinfo, "birth_date") == ["too_young"]

    def test_a_teen_is_flagged(self):
        user = register(birth_date=timezone.localdate() - timedelta(days=365 * 15))
        assert user.is_teen
        assert not register(email="b@example.com", handle="bea", birth_date=date(1990, 1, 1)).is_teen


class TestInvites:
    @pytest.fixture(autouse=True)
    def invite_only(self, settings):
        settings.INVITE_ONLY = True

    def test_an_invite_is_required(self):
        with pytest.raises(DomainError) as excinfo:
            register()
        assert excinfo.value.detail.code == "invite_required"

    def test_a_single_use_code_works_once(self):
        invite = InviteCodeFactory(max_uses=1)
        user = register(invite_code=invite.code)
        invite.refresh_from_db()
        assert invite.use_count == 1
        assert user.invite_redemption.invite == invite
        with pytest.raises(DomainError) as excinfo:
            register(email="b@example.com", handle="bea", invite_code=invite.code)
        assert excinfo.value.detail.code == "invite_exhausted"

    def test_a_multi_use_code_counts_its_uses(self):
        invite = InviteCodeFactory(max_uses=3)
        for n in range(3):
            register(email=f"u{n}@example.com", handle=f"user{n}", invite_code=invite.code)
        invite.refresh_from_db()
        assert invite.use_count == 3

    @pytest.mark.parametrize(
        ("invite_fields", "code"),
        [
            ({"expires_at": timezone.now() - timedelta(minutes=1)}, "invite_expired"),
            ({"is_active": False}, "invite_invalid"),
        ],
    )
    def test_expired_or_disabled_codes_are_refused_and_no_account_is_left(self, invite_fields, code):
        invite = InviteCodeFactory(**invite_fields)
        with pytest.raises(DomainError) as excinfo:
            register(invite_code=invite.code)
        assert excinfo.value.detail.code == code
        assert not User.objects.exists()

    def test_an_unknown_code_is_refused(self):
        with pytest.raises(DomainError) as excinfo:
            register(invite_code="nope")
        assert excinfo.value.detail.code == "invite_invalid"


class TestProfile:
    def test_avatar_is_reencoded_square_and_the_old_one_deleted(self, django_capture_on_commit_callbacks):
        user = UserFactory()
        with django_capture_on_commit_callbacks(execute=True):
            services.profile_update(user=user, avatar=image_upload())
        first = user.__class__.objects.get(id=user.id).avatar.name
        with Image.open(storage.public().open(first)) as stored:
            assert (stored.format, stored.size) == ("JPEG", (512, 512))
        with django_capture_on_commit_callbacks(execute=True):
            services.profile_update(user=user, avatar=image_upload(fmt="JPEG", name="b.jpg"))
        assert not storage.public().exists(first)

    def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_stored(self):
        user = UserFactory()
        fake = SimpleUploadedFile("face.png", b"not really a png" * 100, content_type="image/png")
        with pytest.raises(ValidationError) as excinfo:
            services.profile_update(user=user, avatar=fake)
        assert error_codes(excinfo, "avatar") == ["invalid_image"]
        user.refresh_from_db()
        assert not user.avatar

    def test_birth_date_is_set_once(self):
        user = UserFactory()
        services.profile_update(user=user, birth_date=date(2000, 5, 1))
        with pytest.raises(ValidationError) as excinfo:
            services.profile_update(user=user, birth_date=date(1990, 5, 1))
        assert error_codes(excinfo, "birth_date") == ["birth_date_locked"]

    def test_handle_change_checks_uniqueness(self):
        UserFactory(handle="taken")
        user = UserFactory()
        with pytest.raises(ValidationError):
            services.profile_update(user=user, handle="TAKEN")
        assert services.profile_update(user=user, handle="Fresh.Name").handle == "Fresh.Name"


class TestFollowAndBlock:
    def test_follow_is_idempotent_and_counted_once(self):
        ana, bea = UserFactory(), UserFactory()
        services.follow_create(follower=ana, followee=bea)
        services.follow_create(follower=ana, followee=bea)
        ana.refresh_from_db()
        bea.refresh_from_db()
        assert (ana.following_count, bea.follower_count) == (1, 1)
        services.follow_delete(follower=ana, followee=bea)
        services.follow_delete(follower=ana, followee=bea)
        bea.refresh_from_db()
        assert bea.follower_count == 0

    def test_cannot_follow_yourself(self):
        ana = UserFactory()
        with pytest.raises(DomainError):
            services.follow_create(follower=ana, followee=ana)

    def test_block_removes_follows_both_ways(self):
        ana, bea = UserFactory(), UserFactory()
        services.follow_create(follower=ana, followee=bea)
        services.follow_create(follower=bea, followee=ana)
        services.block_create(blocker=ana, blocked=bea)
        assert not Follow.objects.exists()
        ana.refresh_from_db()
        bea.refresh_from_db()
        assert (ana.follower_count, ana.following_count, bea.follower_count, bea.following_count) == (0, 0, 0, 0)

    @pytest.mark.parametrize("who_blocks", ["follower", "followee"])
    def test_a_block_either_way_prevents_following(self, who_blocks):
        ana, bea = UserFactory(), UserFactory()
        if who_blocks == "follower":
            services.block_create(blocker=ana, blocked=bea)
        else:
            services.block_create(blocker=bea, blocked=ana)
        with pytest.raises(NotFound):
            services.follow_create(follower=ana, followee=bea)

    def test_unblock_is_idempotent(self):
        ana, bea = UserFactory(), UserFactory()
        services.block_create(blocker=ana, blocked=bea)
        services.block_create(blocker=ana, blocked=bea)
        services.block_delete(blocker=ana, blocked=bea)
        services.block_delete(blocker=ana, blocked=bea)
        assert not Block.objects.exists()
