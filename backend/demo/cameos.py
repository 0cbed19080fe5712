"""Demo cameos: one of every audience, grants in every state, the verification queue, protected names.

``create_demo_cameos(users)`` takes the demo creators by handle (``maya``,
``leo``, ``sam``, ``ines``, ``kai``; missing ones are skipped) and goes through
the real services, verification included, with a generated clip. It is
idempotent: each cameo is keyed by its owner and name, so running it again (or
over data from an older release) only adds what is missing.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import imageio_ffmpeg
from django.core.files import File
from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

from backend.cameos import services
from backend.cameos.models import Cameo, CameoGrant, CameoVerification, ProtectedLikeness
from backend.core.processes import run_child
from backend.creators.models import User

# (handle, kind, name, audience, notes, restrictions, verification: "approved" | "submitted" | "issued" | None)
DEMO_CAMEOS = [
    ("maya", "person", "Maya Chen", "mutuals", "casual streetwear, a green skateboard", "never drinking", "approved"),
    ("leo", "person", "Leo Park", "everyone", "round glasses, a film camera", "no politics", "approved"),
    ("ines", "character", "Pixel the dog", "approved", "a small white terrier with a red collar", "", None),
    ("sam", "character", "Toaster 3000", "only_me", "a chrome toaster with googly eyes", "", None),
    ("kai", "person", "Kai Tanaka", "only_me", "", "", "submitted"),  # waits in the moderators' queue
    ("ines", "person", "Inès Duval", "approved", "", "", "issued"),  # challenge issued, no clip yet
]
# (cameo owner, cameo name, grantee, decision): requested → approved / denied / revoked, or left waiting.
DEMO_GRANTS = [
    ("ines", "Pixel the dog", "maya", "approve"),
    ("ines", "Pixel the dog", "kai", None),
    ("ines", "Pixel the dog", "leo", "deny"),
    ("ines", "Pixel the dog", "sam", "revoke"),
]
DEMO_PROTECTED = [
    {"name": "Nova Starling", "aliases": "Nova\nThe Starling", "kind": ProtectedLikeness.Kind.PUBLIC_FIGURE,
     "note": "demo: a fictional pop star"},
    {"name": "Arthur Penrose", "aliases": "", "kind": ProtectedLikeness.Kind.ESTATE_OPT_OUT,
     "requested_by": "The Penrose Estate (demo)", "note": "demo: an estate that opted out"},
]  # fmt: skip


def create_demo_cameos(users: dict[str, User]) -> None:
    for fields in DEMO_PROTECTED:
        ProtectedLikeness.objects.get_or_create(name=fields["name"], defaults=fields)
    with tempfile.TemporaryDirectory(prefix="demo-cameos-") as workdir:
        clip = _demo_clip(Path(workdir) / "hello.mp4")
        for handle, kind, name, audience, notes, restrictions, verification in DEMO_CAMEOS:
            owner = users.get(handle)
            if owner is None or _existing(owner, name, kind=kind) is not None:
                continue
            reference_image = _demo_image(name) if kind == Cameo.Kind.CHARACTER else None
            cameo = services.cameo_create(owner=owner, kind=kind, display_name=name, audience=audience,
                                          appearance_notes=notes, restrictions=restrictions,
                                          reference_image=reference_image)  # fmt: skip
            if verification is not None:
                _verify(cameo, owner, clip, up_to=verification)
    for handle, name, grantee, decision in DEMO_GRANTS:
        owner, requester = users.get(handle), users.get(grantee)
        cameo = _existing(owner, name) if owner else None
        if cameo is None or requester is None or CameoGrant.objects.filter(cameo=cameo, grantee=requester).exists():
            continue
        grant = services.grant_request(cameo=cameo, by=requester)
        if decision == "deny":
            services.grant_deny(grant=grant, by=owner)
        elif decision in ("approve", "revoke"):
            services.grant_approve(grant=grant, by=owner)
            if decision == "revoke":
                services.grant_revoke(grant=grant, by=owner)


def _existing(owner: User, name: str, *, kind: str = Cameo.Kind.CHARACTER) -> Cameo | None:
    """The demo cameo if it is there (a person may have one person cameo, whatever its name)."""
    live = Cameo.objects.filter(owner=owner).exclude(status=Cameo.Status.DELETED)
    if kind == Cameo.Kind.PERSON:
        return live.filter(kind=Cameo.Kind.PERSON).first()
    return live.filter(display_name=name).first()


def _verify(cameo: Cameo, owner: User, clip: Path, *, up_to: str) -> None:
    challenge = services.verification_challenge(cameo=cameo, by=owner)
    if up_to == "issued":
        return
    with open(clip, "rb") as handle:
        submitted = services.verification_submit(cameo=cameo, by=owner, challenge_id=challenge.id,
                                                 clip=File(handle, name="hello.mp4"))  # fmt: skip
    if up_to == "approved":
        services.verification_approve(verification=submitted, by=None)
    assert CameoVerification.objects.filter(id=challenge.id, status=up_to).exists()


def _demo_clip(path: Path) -> Path:
    """Four seconds of test pattern and a tone, standing in for someone saying their phrase."""
    pattern, tone = "testsrc2=s=320x240:d=4:r=24", "sine=frequency=330:duration=4"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
               "-f", "lavfi", "-i", pattern, "-f", "lavfi", "-i", tone, "-c:v", "libx264", "-preset", "ultrafast",
               "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)]  # fmt: skip
    run_child(command, timeout=120, check=True)
    return path


def _demo_image(name: str) -> ContentFile:
    image = Image.new("RGB", (512, 512), (250, 244, 232))
    draw = ImageDraw.Draw(image)
    draw.ellipse([96, 96, 416, 416], fill=(255, 255, 255), outline=(200, 40, 40), width=12)
    draw.text((180, 440), name, fill=(40, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name="reference.png")
