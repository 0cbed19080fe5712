"""The catalogues in locale/ (issue 22): every language complete, compiled as committed, and holding every
message the code marks; a message the code raises unmarked fails here too."""

from __future__ import annotations

import ast
import gettext
import io
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import to_locale
from rest_framework import exceptions

from backend.core.errors import DomainError
from backend.core.management.commands import catalogues_update

LANGUAGES = [code for code, _name in settings.LANGUAGES]
PLACEHOLDER = re.compile(r"%\(\w+\)[sdg]|%s|\{[^{}]*\}")  # ours, and DRF's str.format fields


def _catalog(language: str):
    with catalogues_update.po_path(language).open("rb") as handle:
        return read_po(handle, locale=to_locale(language))


def _missing(marked, language: str) -> list:
    ids = {message.id for message in _catalog(language) if message.id}
    return sorted((key for key in marked if key not in ids), key=str)


def test_the_six_languages_are_offered_and_each_has_its_catalogue():
    assert LANGUAGES == ["en", "es", "ja", "ko", "zh-hans", "zh-hant"]
    for language in LANGUAGES:
        assert catalogues_update.po_path(language).exists()
        assert catalogues_update.po_path(language).with_suffix(".mo").exists()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_has_a_translation_none_fuzzy(language):
    catalog = _catalog(language)
    messages = [message for message in catalog if message.id]
    assert len(messages) > 250
    untranslated = [m.id for m in messages if not all(m.string if isinstance(m.string, tuple) else [m.string])]
    assert untranslated == []
    assert [m.id for m in messages if m.fuzzy] == [] and not catalog.fuzzy
    assert len({m.id for m in messages}) == len(messages)


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders_and_the_plural_forms(language):
    catalog = _catalog(language)
    assert [(message.id, errors) for message, errors in catalog.check()] == []  # Babel: python-format, plurals
    for message in catalog:
        if not message.id:
            continue
        source = message.id[-1] if isinstance(message.id, tuple) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert len(forms) == catalog.num_plurals or not isinstance(message.id, tuple)
        for form in forms:
            assert sorted(PLACEHOLDER.findall(form)) == sorted(PLACEHOLDER.findall(source)), (message.id, form)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_is_the_po_compiled(language):
    """What Django loads (the .mo, read by Python's gettext) says exactly what the .po says."""
    po_path = catalogues_update.po_path(language)
    committed = gettext.GNUTranslations(io.BytesIO(po_path.with_suffix(".mo").read_bytes()))
    fresh = gettext.GNUTranslations(io.BytesIO(catalogues_update.compile_catalog(language)))
    expected = {}
    for message in _catalog(language):
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            expected.update({(message.id[0], n): form for n, form in enumerate(message.string)})
        else:
            expected[message.id] = message.string
    for catalog in (committed, fresh):
        translations = {key: value for key, value in catalog._catalog.items() if key != ""}
        assert translations == expected


def test_the_extraction_finds_python_plural_and_template_messages():
    marked = catalogues_update.extract()
    assert "backend/videos/selectors.py" in marked["No such video."]  # gettext_lazy in Python
    assert any(path.endswith("verify_email.subject.txt") for path in marked["Verify your email for Remix"])
    assert "Hi @%(handle)s, welcome to Remix. Verify your email address to publish videos and create cameos." in marked
    plural = ("%(actor)s and %(others)d other liked your video.", "%(actor)s and %(others)d others liked your video.")
    assert plural in marked  # ngettext_lazy, singular and plural, without its number argument


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_marked_message_of_the_code_is_in_the_catalogue(language):
    marked = {**catalogues_update.extract(), **catalogues_update.vendor_gaps(language)}
    assert _missing(marked, language) == [], (
        "run `python manage.py catalogues_update`, translate the new messages in locale/*/LC_MESSAGES/django.po, "
        "then `python manage.py catalogues_update --compile`"
    )


def test_a_new_marked_message_is_caught(tmp_path):
    app = tmp_path / "backend" / "newapp"
    (app / "templates").mkdir(parents=True)
    (app / "services.py").write_text(
        'from django.utils.translation import gettext_lazy as _\nMESSAGE = _("A message nobody translated yet.")\n'
    )
    (app / "templates" / "page.html").write_text('{% load i18n %}{% translate "A template line nobody translated." %}')

    marked = catalogues_update.extract(base=tmp_path)

    assert set(marked) == {"A message nobody translated yet.", "A template line nobody translated."}
    assert _missing(marked, "ja") == sorted(marked)


def _domain_errors() -> set[type]:
    found, todo = set(), [DomainError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_refusal_says_its_default_in_the_reader_language():
    import backend.urls  # noqa: F401  (every app's views, services and their errors are loaded)

    plain = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _domain_errors()
        if not isinstance(cls.default_detail, Promise)
    ]
    assert plain == []


def _raised_with_plain_text(path: Path, names: set[str]) -> list[str]:
    """``raise SomeRefusal("literal" or f"...")``: a message that no catalogue can translate."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        call = node.exc if isinstance(node, ast.Raise) else node.value if isinstance(node, ast.Return) else None
        if isinstance(call, ast.Call):
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            first = 1 if name == "_invalid" else 0  # _invalid(field, message, code)
            texts = [
                *call.args[first : first + 1],
                *(kw.value for kw in call.keywords if kw.arg in ("detail", "message")),
            ]
            if name in names and any(isinstance(text, (ast.Constant, ast.JoinedStr)) for text in texts):
                found.append(f"{path}:{node.lineno}")
    return found


def test_no_refusal_is_raised_with_an_untranslatable_message():
    import backend.urls  # noqa: F401

    names = {cls.__name__ for cls in _domain_errors()} | {"ValidationError", "ErrorDetail", "_invalid"}
    base = Path(settings.BASE_DIR)
    plain = []
    for root in catalogues_update.SOURCE_ROOTS:
        for path in sorted((base / root).rglob("*.py")):
            if "migrations" not in path.parts:
                plain.extend(_raised_with_plain_text(path, names))
    assert plain == []


def test_a_plain_refusal_is_caught(tmp_path):
    source = tmp_path / "services.py"
    source.write_text(
        'def f():\n    raise NotFound("No such thing.")\n\ndef g():\n    raise NotFound(_("No such thing."))\n'
    )
    assert _raised_with_plain_text(source, {"NotFound"}) == [f"{source}:2"]


def test_drf_messages_are_lazy_so_they_follow_the_request():
    assert isinstance(exceptions.NotAuthenticated.default_detail, Promise)


def test_what_drf_and_simplejwt_leave_untranslated_is_in_ours():
    """DRF's zh_Hant catalogue lacks "Authentication credentials were not provided." (and simplejwt has no ja)."""
    assert "Authentication credentials were not provided." in catalogues_update.vendor_gaps("zh-hant")
    assert "Token is invalid or expired" in catalogues_update.vendor_gaps("ja")
    assert "Authentication credentials were not provided." not in catalogues_update.vendor_gaps("ja")
    assert catalogues_update.vendor_gaps("en") == {}
