"""C2PA content credentials: sign what we publish, read what others bring.

Every published MP4 carries a manifest (c2pa-python) saying it was made by an
AI model here (IPTC digital source type ``trainedAlgorithmicMedia``), with the
prompt's SHA-256, the cameos, the parent video and the creator. It is signed
with the configured certificate chain; with none configured, a development
CA and signing certificate are generated under ``var/c2pa`` (C2PA refuses
self-signed end-entity certificates, hence the small chain).
"""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
GENERATOR = "Remix"
ASSERTION_LABEL = "app.remix.generation"


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Remix (development)"),
    ])  # fmt: skip


def ensure_dev_certificate(directory: Path) -> tuple[Path, Path, Path]:
    """(chain, key, trust anchor) PEM paths of a development signing chain, made once."""
    chain_path, key_path, anchor_path = directory / "chain.pem", directory / "signer.key", directory / "ca.pem"
    if chain_path.exists() and key_path.exists() and anchor_path.exists():
        return chain_path, key_path, anchor_path
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Remix development CA"))
        .issuer_name(_name("Remix development CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Remix development signer"))
        .issuer_name(ca_cert.subject)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    chain_path.write_bytes(signer_cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    anchor_path.write_bytes(ca_cert.public_bytes(pem))
    key_path.write_bytes(signer_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_path.chmod(0o600)
    return chain_path, key_path, anchor_path


def manifest_definition(*, title: str, metadata: dict) -> dict:
    return {
        "claim_generator_info": [{"name": GENERATOR, "version": "1.0"}],
        "title": title,
        "format": "video/mp4",
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                            "softwareAgent": {"name": GENERATOR},
                        }
                    ]
                },
            },
            {"label": ASSERTION_LABEL, "data": metadata},
        ],
    }


def sign_mp4(*, source: Path, destination: Path, title: str, metadata: dict, chain_pem: bytes, key_pem: bytes) -> None:
    """Write ``destination``: ``source`` with a signed C2PA manifest embedded."""
    info = c2pa.C2paSignerInfo(alg=b"es256", sign_cert=chain_pem, private_key=key_pem, ta_url=None)
    with (
        c2pa.Signer.from_info(info) as signer,
        c2pa.Builder(manifest_definition(title=title, metadata=metadata)) as builder,
    ):
        builder.sign_file(source, destination, signer)


def sign_fragments(*, init: Path, segments: list[Path], title: str, metadata: dict, chain_pem: bytes,
                   key_pem: bytes) -> None:  # fmt: skip
    """Sign a rung's CMAF init segment and every media segment, in place (c2pa-rs
    ``Builder::sign_fragmented_files``: the manifest in the init segment, a Merkle box per fragment).

    Nothing reachable from here exposes it (checked on 2026-11-30 against PyPI, npm and Debian, and
    again on 2026-12-01 against PyPI: ``pip index versions c2pa-python`` lists 0.38.1 as the newest):
    c2pa-python 0.38.1 has a C library that reads fragments (``c2pa_reader_with_fragment``,
    ``Reader.with_fragment``) but has no call that signs them (its C library exports
    ``c2pa_builder_sign*`` for whole assets only, and ``c2pa_reader_with_fragment`` is its one fragment
    symbol); @contentauth/c2pa-node 0.9.8 (npm, prebuilt) signs whole files only
    (``Builder.sign``/``signFile``/``signAsync``); @contentauth/c2pa-wasm 0.13.3 only reads fragments
    (``fromBlobFragment``); @trustnxt/c2pa-ts 0.9.4 validates BMFF hashes but signs no fragments;
    Debian has no C2PA package, and no PyPI package ships c2patool (whose ``fragment`` command does
    it). Until one does, segments play unsigned and the download MP4 alone carries the manifest.
    """
    raise NotImplementedError("c2pa-python exposes no fragmented-MP4 signing (sign_fragmented_files)")


def _reader_context(trust_anchors_pem: str | None) -> c2pa.Context:
    # The file is untrusted input: never let it make the server fetch anything. A manifest it
    # names by URL (XMP ``dcterms:provenance``) is not fetched, nor are certificate statuses (OCSP).
    reader_settings: dict = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    if trust_anchors_pem:
        reader_settings["verify"]["verify_trust"] = True
        reader_settings["trust"] = {"trust_anchors": trust_anchors_pem}
    return c2pa.Context(c2pa.Settings.from_json(json.dumps(reader_settings)))


def _summary(reader: c2pa.Reader) -> dict | None:
    with reader:
        manifest = reader.get_active_manifest()
        if manifest is None:
            return None
        ours = next((a["data"] for a in manifest.get("assertions", []) if a.get("label") == ASSERTION_LABEL), None)
        return {
            "claim_generator": (manifest.get("claim_generator_info") or [{}])[0].get("name"),
            "title": manifest.get("title"),
            "metadata": ours,
            "validation_state": reader.get_validation_state(),
            "validation_results": reader.get_validation_results(),
        }


def read_manifest(path: Path, *, trust_anchors_pem: str | None = None) -> dict | None:
    """The active manifest, our metadata and the validation state; None when the file has none."""
    try:
        reader = c2pa.Reader(str(path), context=_reader_context(trust_anchors_pem))
    except c2pa.C2paError:
        return None  # no manifest, an unreadable one, or one only stored remotely
    return _summary(reader)


def read_segment_manifest(*, init: bytes, segment: bytes, trust_anchors_pem: str | None = None) -> dict | None:
    """As ``read_manifest``, for one CMAF media segment: the manifest is in its init segment, and the
    segment is validated against it (its Merkle box); None when the init segment has none."""
    try:
        reader = c2pa.Reader("video/mp4", io.BytesIO(init), context=_reader_context(trust_anchors_pem))
    except c2pa.C2paError:
        return None
    try:
        reader.with_fragment("video/mp4", io.BytesIO(init), io.BytesIO(segment))
    except c2pa.C2paError as error:  # a segment that does not belong to this manifest, or was altered
        reader.close()
        return {"claim_generator": None, "title": None, "metadata": None, "validation_state": "Invalid",
                "validation_results": {"fragment": str(error)}}  # fmt: skip
    return _summary(reader)
