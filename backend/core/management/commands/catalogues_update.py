"""Update the message catalogues in ``locale/`` from the code and compile them, without GNU gettext.

Every string marked in Python (``_``, ``gettext``, ``gettext_lazy``, ``ngettext_lazy`` …) and in templates
(``{% translate %}``, ``{% blocktranslate %}``, read with Django's own ``templatize`` as ``makemessages``
does) becomes a msgid of ``locale/<language>/LC_MESSAGES/django.po`` for every language of ``LANGUAGES``;
translations already there are kept, new messages arrive untranslated (and make
``tests/core/test_catalogues.py`` fail until someone translates them), messages gone from the code are
dropped. Each ``.po`` is then compiled to its ``.mo`` (Babel, a pip package), which is committed.

    python manage.py catalogues_update            # after changing a message: extract, merge, compile
    python manage.py catalogues_update --compile  # after translating: compile only
"""

from __future__ import annotations

import gettext
import importlib
import io
from collections.abc import Iterable, Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract as babel_extract
from babel.messages.extract import extract_python
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import to_locale
from django.utils.translation.template import templatize

# The folders whose code speaks to people (tests, benchmarks and the virtualenv do not).
SOURCE_ROOTS = ("backend", "feeds", "media", "notifications", "data_rights")
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "Translatable": None,  # backend.core.i18n.Translatable: a message kept to be read later in any language
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
}
# Messages of DRF and simplejwt that reach API clients (errors, validation, tokens). Their own catalogues
# translate most of them; what one lacks for a language of ours is added to our catalogue of it, so a client
# never gets English in a zh-hant answer because DRF's zh_Hant is incomplete.
VENDOR_SOURCES = {
    "rest_framework": ("exceptions.py", "fields.py", "relations.py", "validators.py"),
    "rest_framework_simplejwt": ("authentication.py", "backends.py", "exceptions.py", "serializers.py", "tokens.py"),
}
# Plural rules of the catalogues' headers (gettext's, as Django's own catalogues write them).
PLURAL_FORMS = {
    "en": "nplurals=2; plural=(n != 1);",
    "es": "nplurals=2; plural=(n != 1);",
    "ja": "nplurals=1; plural=0;",
    "ko": "nplurals=1; plural=0;",
    "zh_Hans": "nplurals=1; plural=0;",
    "zh_Hant": "nplurals=1; plural=0;",
}


def locale_dir() -> Path:
    return Path(settings.LOCALE_PATHS[0])


def po_path(language: str) -> Path:
    return locale_dir() / to_locale(language) / "LC_MESSAGES" / "django.po"


def _sources(base: Path) -> Iterator[Path]:
    for root in SOURCE_ROOTS:
        for path in sorted((base / root).rglob("*")):
            if "migrations" in path.parts or "__pycache__" in path.parts or not path.is_file():
                continue
            if path.suffix == ".py" or (path.suffix in (".html", ".txt") and "templates" in path.parts):
                yield path


def _marked(python: str) -> Iterable[str | tuple[str, str]]:
    for _lineno, message, _comments, _context in babel_extract(
        extract_python, io.BytesIO(python.encode("utf-8")), keywords=KEYWORDS, options={"encoding": "utf-8"}
    ):
        yield message


def extract(base: Path | None = None) -> dict[str | tuple[str, str], set[str]]:
    """Every marked message of the code: msgid (or (singular, plural)) → the files that use it."""
    base = base or Path(settings.BASE_DIR)
    found: dict[str | tuple[str, str], set[str]] = {}
    for path in _sources(base):
        text = path.read_text(encoding="utf-8")
        if path.suffix != ".py":
            if "{% load i18n" not in text:
                continue
            text = templatize(text, origin=str(path))
        elif "gettext" not in text:
            continue
        for message in _marked(text):
            found.setdefault(message, set()).add(str(path.relative_to(base)))
    return found


def vendor_gaps(language: str) -> dict[str | tuple[str, str], set[str]]:
    """The messages of ``VENDOR_SOURCES`` that the package's own catalogue for ``language`` leaves in English."""
    gaps: dict[str | tuple[str, str], set[str]] = {}
    if language == settings.LANGUAGE_CODE:
        return gaps
    for package, files in VENDOR_SOURCES.items():
        base = Path(importlib.import_module(package).__file__).parent
        own = gettext.NullTranslations()  # Django loads the catalogues of installed apps only
        if apps.is_installed(package):
            own = gettext.translation("django", str(base / "locale"), languages=[to_locale(language)], fallback=True)
        for name in files:
            for message in _marked((base / name).read_text(encoding="utf-8")):
                singular = message[0] if isinstance(message, tuple) else message
                translated = own.ngettext(*message, 1) if isinstance(message, tuple) else own.gettext(message)
                if translated == singular:
                    gaps.setdefault(message, set()).add(f"{package}/{name}")
    return gaps


def merge(language: str, messages: dict) -> Catalog:
    """The language's catalogue with exactly ``messages``: translations kept, new ones empty."""
    locale = to_locale(language)
    path = po_path(language)
    old = None
    if path.exists():
        with path.open("rb") as handle:
            old = read_po(handle, locale=locale)
    catalog = Catalog(
        locale=locale,
        domain="django",
        project="Remix",
        fuzzy=False,
        last_translator="Remix",
        language_team=dict(settings.LANGUAGES)[language],
        # The dates of the catalogue it replaces: a run that changes no message changes no byte.
        creation_date=old.creation_date if old is not None else None,
        revision_date=old.revision_date if old is not None else None,
    )
    catalog._set_mime_headers([("Plural-Forms", PLURAL_FORMS[locale])])
    for message_id in sorted(messages, key=lambda key: key if isinstance(key, str) else key[0]):
        previous = old.get(message_id) if old is not None else None
        if isinstance(message_id, tuple):
            string = previous.string if previous is not None else ("",) * catalog.num_plurals
            if language == "en" and not any(string):
                string = message_id
        else:
            string = previous.string if previous is not None else ""
            if language == "en" and not string:
                string = message_id
        catalog.add(message_id, string)
    return catalog


def write(language: str, catalog: Catalog) -> None:
    path = po_path(language)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=0, omit_header=False, no_location=True, sort_output=True)


def compile_catalog(language: str) -> bytes:
    """The ``.mo`` of the language's ``.po``, as bytes (untranslated and fuzzy entries left out, as msgfmt)."""
    with po_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=to_locale(language))
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


class Command(BaseCommand):
    help = "Extract the messages of the code into locale/*/django.po (keeping translations) and compile them."

    def add_arguments(self, parser):
        parser.add_argument("--compile", action="store_true", help="Only compile the .po files to .mo.")

    def handle(self, *args, compile: bool = False, **options):
        messages = None if compile else extract()
        for language, _name in settings.LANGUAGES:
            if messages is not None:
                write(language, merge(language, {**messages, **vendor_gaps(language)}))
            po_path(language).with_suffix(".mo").write_bytes(compile_catalog(language))
            self.stdout.write(f"{po_path(language).parent}: compiled")
