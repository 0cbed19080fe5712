import pytest
from django.core.files.storage import storages
from django.db import transaction

from backend.cameos import selectors, services
from backend.cameos.models import Cameo, CameoGrant, CameoVerification
from backend.cameos.uploads import BadUpload
from backend.core.errors import Conflict, DomainError, NotFound
from backend.core.models import AuditLogEntry
from backend.creators import services as creator_services
from backend.videos.models import Video
from tests.cameos.conftest import png_upload, stored_private_files, upload
from tests.factories import (
    AppearanceFactory,
    CameoFactory,
    CameoGrantFactory,
    CameoVerificationFactory,
    PersonCameoFactory,
    ProtectedLikenessFactory,
    UserFactory,
    VideoFactory,
)

pytestmark = pytest.mark.django_db


class TestCreate:
    def test_a_person_may_own_one_person_cameo_and_it_waits_for_verification(self, user):
        cameo = services.cameo_create(owner=user, kind="person", display_name="Me")
        assert cameo.status == "pending_verification" and cameo.audience == "only_me"
        with pytest.raises(Conflict) as caught:
            services.cameo_create(owner=user, kind="person", display_name="Me too")
        assert caught.value.detail.code == "person_cameo_exists"

    def test_after_deleting_it_a_new_person_cameo_may_be_made(self, user):
        first = services.cameo_create(owner=user, kind="person", display_name="Me")
        services.cameo_delete(cameo=first, by=user)
        assert services.cameo_create(owner=user, kind="person", display_name="Me again").id != first.id

    @pytest.mark.parametrize(("tier", "quota"), [("free", 2), ("pro", 4)])
    def test_characters_are_limited_by_the_tier_quota(self, settings, tier, quota):
        settings.TIER_QUOTAS = {
            name: {**limits, "character_cameos": {"free": 2, "pro": 4}[name]}
            for name, limits in settings.TIER_QUOTAS.items()
        }
        owner = UserFactory(tier=tier)
        for n in range(quota):
            assert services.cameo_create(owner=owner, kind="character", display_name=f"Pet {n}").status == "active"
        with pytest.raises(DomainError) as caught:
            services.cameo_create(owner=owner, kind="character", display_name="One too many")
        assert caught.value.detail.code == "character_quota"
        # A deleted character frees its place.
        services.cameo_delete(cameo=Cameo.objects.filter(owner=owner).first(), by=owner)
        services.cameo_create(owner=owner, kind="character", display_name="Replacement")

    def test_media_are_stored_privately_under_the_cameo(self, user, media_files, settings):
        cameo = services.cameo_create(
            owner=user,
            kind="character",
            display_name="Pixel",
            reference_image=png_upload(),
            reference_clip=upload(media_files["silent"]),
            voice_sample=upload(media_files["voice"]),
        )
        assert cameo.reference_image.endswith(".jpg") and cameo.reference_clip.endswith(".mp4")
        assert cameo.voice_sample.endswith(".m4a")
        private = storages["default"]
        assert all(private.exists(name) for name in cameo.private_media_names)
        assert all(name.startswith(f"cameos/{cameo.id}/") for name in cameo.private_media_names)
        assert len(stored_private_files(settings)) == 3

    def test_one_bad_file_refuses_the_whole_cameo_and_stores_nothing(self, user, media_files, settings):
        with pytest.raises(BadUpload) as caught:
            services.cameo_create(
                owner=user,
                kind="character",
                display_name="Pixel",
                reference_image=png_upload(),
                voice_sample=upload(media_files["image"]),
            )
        assert caught.value.detail.code == "not_audio"
        assert not Cameo.objects.exists() and stored_private_files(settings) == []

    def test_a_failure_after_storing_removes_what_was_stored(self, user, media_files, settings, monkeypatch):
        def fail_after_saving(*args, **kwargs):
            raise RuntimeError("database went away")

        monkeypatch.setattr(services.files, "delete_private_on_commit", fail_after_saving)
        # Given media already stored when the write fails
        with pytest.raises(RuntimeError):
            services.cameo_create(owner=user, kind="character", display_name="Pixel", reference_image=png_upload())
        assert not Cameo.objects.exists() and stored_private_files(settings) == []

    def test_a_character_may_not_take_a_protected_name_unless_its_owner_is_that_person(self, user):
        likeness = ProtectedLikenessFactory(name="Taylor Swift")
        with pytest.raises(selectors.ProtectedLikenessRefused):
            services.cameo_create(owner=user, kind="character", display_name="Taylor Swift's cat")
        PersonCameoFactory(owner=user, status="active", protected_likeness=likeness)
        assert services.cameo_create(owner=user, kind="character", display_name="Taylor Swift's cat").id

    def test_a_person_cameo_may_carry_a_protected_name_while_it_waits_for_verification(self, user):
        ProtectedLikenessFactory(name="Taylor Swift")
        assert services.cameo_create(owner=user, kind="person", display_name="Taylor Swift").status == (
            "pending_verification"
        )


class TestUpdate:
    @pytest.mark.parametrize(
        ("before", "after", "withdraws"),
        [
            ("everyone", "mutuals", True),
            ("everyone", "approved", True),
            ("everyone", "only_me", True),
            ("mutuals", "approved", True),
            ("approved", "mutuals", True),
            ("approved", "only_me", True),
            ("only_me", "everyone", False),
            ("only_me", "approved", False),
            ("mutuals", "everyone", False),
            ("approved", "everyone", False),
            ("mutuals", "mutuals", False),
        ],
    )
    def test_an_audience_that_may_shut_someone_out_sends_one_event(
        self, withdrawn, django_capture_on_commit_callbacks, before, after, withdraws
    ):
        cameo = CameoFactory(audience=before)
        with django_capture_on_commit_callbacks(execute=True):
            services.cameo_update(cameo=cameo, by=cameo.owner, audience=after)
        assert withdrawn == ([(cameo.id, None, "audience_changed")] if withdraws else [])
        assert Cameo.objects.get(id=cameo.id).audience == after

    def test_preferences_change_and_only_the_owner_may_change_them(self):
        cameo = CameoFactory()
        with pytest.raises(NotFound):
            services.cameo_update(cameo=cameo, by=UserFactory(), restrictions="anything goes")
        services.cameo_update(cameo=cameo, by=cameo.owner, appearance_notes="red scarf", restrictions="no horror")
        cameo.refresh_from_db()
        assert (cameo.appearance_notes, cameo.restrictions) == ("red scarf", "no horror")

    def test_renaming_to_a_protected_name_is_refused(self):
        ProtectedLikenessFactory(name="Nova Starling")
        cameo = CameoFactory(display_name="Rex")
        with pytest.raises(selectors.ProtectedLikenessRefused):
            services.cameo_update(cameo=cameo, by=cameo.owner, display_name="NOVA  starling")
        assert Cameo.objects.get(id=cameo.id).display_name == "Rex"

    def test_new_media_replace_the_old_which_is_erased_on_commit(self, media_files, django_capture_on_commit_callbacks):
        owner = UserFactory()
        cameo = services.cameo_create(owner=owner, kind="character", display_name="Pixel", reference_image=png_upload())
        old = cameo.reference_image
        private = storages["default"]
        with django_capture_on_commit_callbacks(execute=True):
            services.cameo_update(cameo=cameo, by=owner, reference_image=png_upload((32, 32)))
        cameo.refresh_from_db()
        assert cameo.reference_image != old and private.exists(cameo.reference_image)
        assert not private.exists(old)


class TestDeleteAndSuspend:
    def test_deleting_takes_down_every_video_and_erases_media_once_committed(
        self, media_files, settings, withdrawn, django_capture_on_commit_callbacks
    ):
        owner = UserFactory()
        cameo = services.cameo_create(owner=owner, kind="person", display_name="Me", reference_image=png_upload())
        challenge = services.verification_challenge(cameo=cameo, by=owner)
        services.verification_submit(cameo=cameo, by=owner, challenge_id=challenge.id, clip=upload(media_files["good"]))
        draft_of_someone_else = VideoFactory(status="draft", published_at=None)
        published = VideoFactory()
        for video in (draft_of_someone_else, published):
            AppearanceFactory(cameo=cameo, video=video)
        assert len(stored_private_files(settings)) == 2

        with django_capture_on_commit_callbacks(execute=True):
            services.cameo_delete(cameo=cameo, by=owner)
            assert len(stored_private_files(settings)) == 2, "nothing is erased before the commit"

        cameo.refresh_from_db()
        assert cameo.status == "deleted" and cameo.private_media_names == []
        assert set(Video.objects.values_list("status", flat=True)) == {"removed"}
        assert stored_private_files(settings) == []
        assert CameoVerification.objects.get(id=challenge.id).status == "rejected"
        assert withdrawn == [(cameo.id, None, "cameo_deleted")]
        assert set(AuditLogEntry.objects.values_list("action", flat=True)) == {"cameo.delete", "video.remove"}

    def test_only_the_owner_deletes_and_deleting_twice_is_harmless(self):
        cameo = CameoFactory()
        with pytest.raises(NotFound):
            services.cameo_delete(cameo=cameo, by=UserFactory())
        services.cameo_delete(cameo=cameo, by=cameo.owner)
        services.cameo_delete(cameo=cameo, by=cameo.owner)
        assert AuditLogEntry.objects.filter(action="cameo.delete").count() == 1

    def test_suspending_withdraws_consent_and_restoring_gives_it_back(
        self, withdrawn, django_capture_on_commit_callbacks
    ):
        cameo = CameoFactory(audience="everyone")
        stranger = UserFactory()
        moderator = UserFactory(is_staff=True)
        with django_capture_on_commit_callbacks(execute=True):
            services.cameo_suspend(cameo=cameo, by=moderator, reason="impersonation report")
            services.cameo_suspend(cameo=cameo, by=moderator, reason="again")
        assert withdrawn == [(cameo.id, None, "cameo_suspended")]
        assert selectors.cameo_permission(user=stranger, cameo=Cameo.objects.get(id=cameo.id)).reason == "not_active"
        services.cameo_restore(cameo=cameo, by=moderator, reason="report was wrong")
        assert selectors.cameo_permission(user=stranger, cameo=Cameo.objects.get(id=cameo.id)).allowed

    def test_an_unverified_person_returns_to_waiting_for_verification(self):
        cameo = PersonCameoFactory()
        services.cameo_suspend(cameo=cameo, by=None, reason="x")
        assert services.cameo_restore(cameo=cameo, by=None, reason="y").status == "pending_verification"

    def test_a_rolled_back_change_sends_no_event(self, withdrawn, django_capture_on_commit_callbacks):
        cameo = CameoFactory(audience="everyone")
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
            services.cameo_update(cameo=cameo, by=cameo.owner, audience="only_me")
            raise RuntimeError("rolled back")
        assert withdrawn == []
        assert Cameo.objects.get(id=cameo.id).audience == "everyone"


class RecordingVerifier:
    name = "recording"
    seen: list = []

    def submitted(self, *, verification):
        RecordingVerifier.seen.append(verification.id)


class TestVerification:
    def test_the_challenge_is_issued_once_until_it_expires(self):
        cameo = PersonCameoFactory()
        first = services.verification_challenge(cameo=cameo, by=cameo.owner)
        assert services.verification_challenge(cameo=cameo, by=cameo.owner).id == first.id
        CameoVerification.objects.filter(id=first.id).update(expires_at="2000-01-01T00:00Z")
        renewed = services.verification_challenge(cameo=cameo, by=cameo.owner)
        assert renewed.id != first.id and renewed.phrase

    def test_characters_and_active_cameos_need_no_verification(self):
        for cameo in (CameoFactory(), PersonCameoFactory(status="active")):
            with pytest.raises(Conflict):
                services.verification_challenge(cameo=cameo, by=cameo.owner)

    def test_a_clip_goes_to_the_configured_verifier(self, media_files, settings):
        settings.CAMEO_VERIFIER = "tests.cameos.test_services.RecordingVerifier"
        challenge = CameoVerificationFactory()
        cameo = challenge.cameo
        submitted = services.verification_submit(
            cameo=cameo, by=cameo.owner, challenge_id=challenge.id, clip=upload(media_files["good"])
        )
        assert submitted.status == "submitted" and submitted.clip_duration_s == pytest.approx(4, abs=0.1)
        assert RecordingVerifier.seen[-1] == challenge.id
        assert Cameo.objects.get(id=cameo.id).status == "pending_verification", "nobody pretends to check speech"

    def test_by_default_the_clip_waits_for_a_moderator(self, media_files):
        challenge = CameoVerificationFactory()
        cameo = challenge.cameo
        services.verification_submit(cameo=cameo, by=cameo.owner, challenge_id=challenge.id,
                                     clip=upload(media_files["good"]))  # fmt: skip
        assert CameoVerification.objects.get(id=challenge.id).verifier == "manual_review"

    def test_someone_else_cannot_answer_the_challenge(self, media_files):
        challenge = CameoVerificationFactory()
        with pytest.raises(NotFound):
            services.verification_submit(cameo=challenge.cameo, by=UserFactory(), challenge_id=challenge.id,
                                         clip=upload(media_files["good"]))  # fmt: skip

    def test_approval_activates_and_keeps_the_clip_as_reference(self, media_files):
        challenge = CameoVerificationFactory()
        cameo = challenge.cameo
        submitted = services.verification_submit(
            cameo=cameo, by=cameo.owner, challenge_id=challenge.id, clip=upload(media_files["good"])
        )
        services.verification_approve(verification=submitted, by=UserFactory(is_staff=True))
        cameo.refresh_from_db()
        assert (cameo.status, cameo.reference_clip) == ("active", submitted.clip) and cameo.verified_at
        with pytest.raises(Conflict):
            services.verification_approve(verification=submitted, by=None)

    def test_rejection_erases_the_clip_and_a_new_challenge_may_be_asked(
        self, media_files, settings, django_capture_on_commit_callbacks
    ):
        challenge = CameoVerificationFactory()
        cameo = challenge.cameo
        submitted = services.verification_submit(
            cameo=cameo, by=cameo.owner, challenge_id=challenge.id, clip=upload(media_files["good"])
        )
        with django_capture_on_commit_callbacks(execute=True):
            services.verification_reject(verification=submitted, by=None, note="not the same person")
        assert stored_private_files(settings) == []
        assert Cameo.objects.get(id=cameo.id).status == "pending_verification"
        assert services.verification_challenge(cameo=cameo, by=cameo.owner).id != challenge.id

    def test_a_protected_name_needs_the_moderator_to_confirm_the_person(self, media_files):
        likeness = ProtectedLikenessFactory(name="Nova Starling")
        challenge = CameoVerificationFactory(cameo=PersonCameoFactory(display_name="Nova Starling"))
        cameo = challenge.cameo
        submitted = services.verification_submit(
            cameo=cameo, by=cameo.owner, challenge_id=challenge.id, clip=upload(media_files["good"])
        )
        with pytest.raises(Conflict) as caught:
            services.verification_approve(verification=submitted, by=None)
        assert caught.value.detail.code == "protected_likeness_unconfirmed"
        services.verification_approve(verification=submitted, by=None, protected_likeness=likeness)
        selectors.prompt_likeness_check(user=cameo.owner, text="Nova Starling on the moon")
        with pytest.raises(selectors.ProtectedLikenessRefused):
            selectors.prompt_likeness_check(user=UserFactory(), text="Nova Starling on the moon")

    def test_a_cameo_suspended_while_waiting_cannot_be_approved(self, media_files):
        challenge = CameoVerificationFactory()
        cameo = challenge.cameo
        submitted = services.verification_submit(
            cameo=cameo, by=cameo.owner, challenge_id=challenge.id, clip=upload(media_files["good"])
        )
        services.cameo_suspend(cameo=cameo, by=None, reason="impersonation")
        with pytest.raises(Conflict):
            services.verification_approve(verification=submitted, by=None)


class TestGrants:
    def test_requesting_is_idempotent_and_a_denial_stands(self):
        cameo = CameoFactory(audience="approved")
        fan = UserFactory()
        grant = services.grant_request(cameo=cameo, by=fan)
        assert services.grant_request(cameo=cameo, by=fan).id == grant.id
        services.grant_deny(grant=grant, by=cameo.owner)
        assert services.grant_request(cameo=cameo, by=fan).status == "denied"
        assert CameoGrant.objects.count() == 1

    @pytest.mark.parametrize("case", ["owner", "blocked", "blocker", "not_approved_audience", "suspended_cameo"])
    def test_who_may_not_ask_is_told_there_is_no_such_cameo(self, case):
        cameo = CameoFactory(audience="only_me" if case == "not_approved_audience" else "approved")
        asker = cameo.owner if case == "owner" else UserFactory()
        if case == "blocked":
            creator_services.block_create(blocker=cameo.owner, blocked=asker)
        if case == "blocker":
            creator_services.block_create(blocker=asker, blocked=cameo.owner)
        if case == "suspended_cameo":
            services.cameo_suspend(cameo=cameo, by=None, reason="x")
        with pytest.raises(NotFound):
            services.grant_request(cameo=cameo, by=asker)
        assert not CameoGrant.objects.exists()

    def test_only_the_owner_decides(self):
        grant = CameoGrantFactory()
        for decide in (services.grant_approve, services.grant_deny, services.grant_revoke):
            with pytest.raises(NotFound):
                decide(grant=grant, by=grant.grantee)
        assert CameoGrant.objects.get(id=grant.id).status == "requested"

    def test_an_approved_grant_is_revoked_not_denied(self):
        grant = CameoGrantFactory(status="approved")
        with pytest.raises(Conflict):
            services.grant_deny(grant=grant, by=grant.cameo.owner)

    def test_revoking_access_withdraws_consent_for_that_person_only(
        self, withdrawn, django_capture_on_commit_callbacks
    ):
        approved = CameoGrantFactory(status="approved")
        waiting = CameoGrantFactory(cameo=approved.cameo)
        owner = approved.cameo.owner
        with django_capture_on_commit_callbacks(execute=True):
            services.grant_revoke(grant=approved, by=owner)
            services.grant_revoke(grant=approved, by=owner)  # idempotent
            services.grant_revoke(grant=waiting, by=owner)  # never had access: nothing to withdraw
        assert withdrawn == [(approved.cameo_id, approved.grantee_id, "grant_revoked")]

    def test_a_block_revokes_grants_both_ways_and_withdraws_consent_for_every_live_cameo(
        self, withdrawn, django_capture_on_commit_callbacks
    ):
        alice, bob = UserFactory(), UserFactory()
        alices = CameoGrantFactory(cameo=CameoFactory(owner=alice, audience="approved"), grantee=bob, status="approved")
        bobs = CameoGrantFactory(cameo=CameoFactory(owner=bob, audience="approved"), grantee=alice)
        alices_public = CameoFactory(owner=alice, audience="everyone")
        CameoFactory(owner=alice, status="suspended")
        with django_capture_on_commit_callbacks(execute=True):
            creator_services.block_create(blocker=alice, blocked=bob)
        assert set(CameoGrant.objects.values_list("status", flat=True)) == {"revoked"}
        assert sorted(withdrawn) == sorted(
            [
                (alices.cameo_id, bob.id, "blocked"),
                (alices_public.id, bob.id, "blocked"),
                (bobs.cameo_id, alice.id, "blocked"),
            ]
        )
        with pytest.raises(Conflict) as caught:
            services.grant_approve(grant=alices, by=alice)
        assert caught.value.detail.code == "blocked"

    def test_unfollowing_a_mutual_withdraws_consent_for_mutuals_cameos_both_ways(
        self, withdrawn, django_capture_on_commit_callbacks
    ):
        alice, bob = UserFactory(), UserFactory()
        creator_services.follow_create(follower=alice, followee=bob)
        creator_services.follow_create(follower=bob, followee=alice)
        alices, bobs = CameoFactory(owner=alice, audience="mutuals"), CameoFactory(owner=bob, audience="mutuals")
        CameoFactory(owner=alice, audience="everyone")
        bobs_video = VideoFactory(owner=bob)
        AppearanceFactory(cameo=alices, video=bobs_video)
        assert selectors.cameo_permission(user=bob, cameo=alices).allowed
        with django_capture_on_commit_callbacks(execute=True):
            creator_services.follow_delete(follower=bob, followee=alice)
            creator_services.follow_delete(follower=bob, followee=alice)  # again: nothing more to withdraw
        assert sorted(withdrawn) == sorted([(alices.id, bob.id, "unfollowed"), (bobs.id, alice.id, "unfollowed")])
        assert not selectors.cameo_permission(user=bob, cameo=alices).allowed
        bobs_video.refresh_from_db()
        assert bobs_video.withdrawn_at is not None  # out of every feed

    def test_unfollowing_someone_who_does_not_follow_back_withdraws_nothing(
        self, withdrawn, django_capture_on_commit_callbacks
    ):
        alice, bob = UserFactory(), UserFactory()
        creator_services.follow_create(follower=bob, followee=alice)
        CameoFactory(owner=alice, audience="mutuals")
        with django_capture_on_commit_callbacks(execute=True):
            creator_services.follow_delete(follower=bob, followee=alice)
        assert withdrawn == []


class TestAppearances:
    def test_recording_an_appearance_is_idempotent(self):
        cameo, video = CameoFactory(), VideoFactory()
        assert services.appearance_record(cameo=cameo, video=video) == services.appearance_record(
            cameo=cameo, video=video
        )

    def test_the_owner_takes_the_video_down_for_everyone_with_an_audit_record(self):
        appearance = AppearanceFactory()
        owner = appearance.cameo.owner
        services.appearance_remove(cameo=appearance.cameo, by=owner, video_id=appearance.video_id)
        services.appearance_remove(cameo=appearance.cameo, by=owner, video_id=appearance.video_id)
        video = Video.objects.get(id=appearance.video_id)
        assert video.status == "removed" and video.removed_at
        entry = AuditLogEntry.objects.get(action="video.remove")
        assert (entry.actor_id, entry.target_id) == (owner.id, str(video.id))

    def test_nobody_else_and_no_other_video(self):
        appearance = AppearanceFactory()
        with pytest.raises(NotFound):
            services.appearance_remove(cameo=appearance.cameo, by=appearance.video.owner, video_id=appearance.video_id)
        with pytest.raises(NotFound):
            services.appearance_remove(cameo=appearance.cameo, by=appearance.cameo.owner, video_id=VideoFactory().id)
        assert Video.objects.filter(status="removed").count() == 0
