"""Every write about cameos, one module per use case; callers import from here.

- ``likeness``: creation, settings and media, deletion, suspension, restoration;
- ``verification``: the challenge, the clip answering it, the decision;
- ``grants``: requests, decisions, revocations, access ending with a relationship;
- ``appearances``: where a cameo appears, and its owner taking a video down;
- ``files``: the media files behind all of them.

Uploads are checked (and stripped of metadata) before a row is locked or a
byte is stored; files stored by a write that then fails are deleted again, and
files a write replaces or erases are deleted only once it commits. One
departure from "one ``@transaction.atomic`` per service": the services that
store files open their transaction inside a ``try`` so that a failed commit
also removes what they stored. (Called inside a caller's transaction that later
rolls back, a stored file can outlive its row; it is then unreferenced, never
served.)
"""

from backend.cameos.services.appearances import appearance_record, appearance_remove
from backend.cameos.services.files import cameo_media_purge
from backend.cameos.services.grants import (
    grant_approve,
    grant_deny,
    grant_request,
    grant_revoke,
    grants_of_grantee_delete,
    grants_revoke_between,
    mutual_access_end,
)
from backend.cameos.services.likeness import (
    cameo_create,
    cameo_delete,
    cameo_restore,
    cameo_suspend,
    cameo_update,
    cameos_owner_standing_changed,
)
from backend.cameos.services.verification import (
    verification_approve,
    verification_challenge,
    verification_reject,
    verification_submit,
)

__all__ = [
    "appearance_record",
    "appearance_remove",
    "cameo_create",
    "cameo_delete",
    "cameo_media_purge",
    "cameo_restore",
    "cameo_suspend",
    "cameo_update",
    "cameos_owner_standing_changed",
    "grant_approve",
    "grant_deny",
    "grant_request",
    "grant_revoke",
    "grants_of_grantee_delete",
    "grants_revoke_between",
    "mutual_access_end",
    "verification_approve",
    "verification_challenge",
    "verification_reject",
    "verification_submit",
]
