"""Reactions of videos to other apps' events."""

from django.dispatch import receiver

from backend.cameos.events import consent_withdrawn


@receiver(consent_withdrawn, dispatch_uid="videos.hide_videos_on_consent_withdrawn")
def hide_videos_on_consent_withdrawn(sender, *, cameo_id: int, user_id: int | None = None, **kwargs) -> None:
    """Videos whose creator may no longer use the cameo are withdrawn at once (and what embeds them)."""
    from backend.cameos.selectors import videos_now_refused
    from backend.videos.services import videos_mark_consent_withdrawn

    withdrawn = videos_now_refused(cameo_id=cameo_id, creator_id=user_id)
    if withdrawn:
        videos_mark_consent_withdrawn(video_ids=withdrawn)
