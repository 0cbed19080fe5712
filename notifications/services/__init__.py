"""Every write of the notifications app.

- ``inbox``: items made and grouped (``notify``, ``group_refresh``), read, preferences.
- ``reactions``: who is told of each domain event (one function per event, run by a task).
"""

from notifications.services.inbox import (
    GROUP_ACTORS_SHOWN,
    group_refresh,
    notifications_mark_read,
    notify,
    person_erase,
    preferences_set,
)
from notifications.services.reactions import (
    GROUP_REFRESH_PENDING_S,
    account_suspended_notify,
    case_resolved_notify,
    comment_created_notify,
    data_export_ready_notify,
    grant_decided_notify,
    grant_requested_notify,
    group_refresh_pending,
    mentioned_handles,
    pending_refresh_key,
    render_finished_notify,
    render_requested_notify,
    statements_ready_notify,
    strike_added_notify,
    suspensions_ended_notify,
    usage_approval_requested_notify,
    verification_decided_notify,
    video_published_notify,
    video_removed_notify,
    video_restored_notify,
)

__all__ = [
    "GROUP_ACTORS_SHOWN",
    "GROUP_REFRESH_PENDING_S",
    "account_suspended_notify",
    "case_resolved_notify",
    "comment_created_notify",
    "data_export_ready_notify",
    "grant_decided_notify",
    "grant_requested_notify",
    "group_refresh",
    "group_refresh_pending",
    "mentioned_handles",
    "notifications_mark_read",
    "notify",
    "pending_refresh_key",
    "person_erase",
    "preferences_set",
    "render_finished_notify",
    "render_requested_notify",
    "statements_ready_notify",
    "strike_added_notify",
    "suspensions_ended_notify",
    "usage_approval_requested_notify",
    "verification_decided_notify",
    "video_published_notify",
    "video_removed_notify",
    "video_restored_notify",
]
