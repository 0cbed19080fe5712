"""Admin helpers shared by every app: domain rows are changed by actions that call services.

A field whose change has consequences (consent events, counters, lineage, the
audit log) is never saved from a form, and a domain row is never hard-deleted
from a changelist: an admin built on ``ServiceActionsOnly`` shows its rows read-only
and offers list actions instead, each calling a service. Those actions ask for
the ``moderate`` permission, which is the model's Django "change" permission:
who may act, as opposed to who may look.

(``backend.core`` is not an installed app, so the admin never autodiscovers this module.)
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.auth import get_permission_codename
from django.contrib.postgres.search import SearchQuery, SearchVectorField
from django.db.models import F, Func, Q, Value

from backend.core import textsearch
from backend.core.errors import DomainError


class ModerateActions:
    """Actions declared with ``permissions=["moderate"]`` need the model's "change" permission."""

    def has_moderate_permission(self, request):
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")


class ServiceActionsOnly(ModerateActions):
    """No add, no edit, no delete (nor ``delete_selected``); actions with ``permissions=["moderate"]``.

    Put it before ``admin.ModelAdmin`` in the bases. A form save would also write
    every column from the row as it was loaded, undoing counters and states that
    changed meanwhile; view-only pages cannot.
    """

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ChangedFieldsOnly:
    """On an edit, save only the fields the form changed.

    For admins that keep an editable form on a row that services also update
    (counters, states): saving every column would undo what changed meanwhile.
    """

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        concrete = {field.name for field in obj._meta.concrete_fields}
        changed = [name for name in form.changed_data if name in concrete]
        if changed:
            obj.save(update_fields=changed)


class ReasonActionForm(helpers.ActionForm):
    reason = forms.CharField(required=False, max_length=300, help_text="Why (goes to the audit log).")


def action_reason(request, default: str) -> str:
    """The reason typed next to the action, or ``default`` when the admin does not insist on one."""
    return request.POST.get("reason", "").strip() or default


def run_each(modeladmin, request, queryset, action: Callable, verb: str, *, label: Callable = str) -> int:
    """Call ``action`` on each selected row; tell the moderator every refusal and how many were done.

    A refusal (``DomainError``) of one row does not stop the others: its reason is
    shown as an error, naming the row, and the row is not counted.
    """
    done = 0
    for obj in queryset:
        try:
            action(obj)
        except DomainError as error:
            modeladmin.message_user(request, f"{label(obj)}: {error.detail}", level=messages.ERROR)
        else:
            done += 1
    modeladmin.message_user(request, f"{done} {queryset.model._meta.verbose_name_plural} {verb}.")
    return done


class IndexedSearch:
    """The changelist's search box through search's indexes, not ``icontains`` over every row.

    ``indexed_search_fields``: text fields (relations allowed) matched anywhere, accents and case aside, by
    ``search_fold(field) LIKE '%term%'``, which the GIN trigram indexes serve; ``indexed_search_document``:
    the video document (caption and prompt, hidden prompts included) matched word by word by full-text
    search; a number also finds the row with that id (or another integer field's: ``indexed_search_ids``).
    """

    indexed_search_fields: tuple[str, ...] = ()
    indexed_search_exact: tuple[str, ...] = ()  # matched whole, case aside (an email address)
    indexed_search_document: bool = False
    indexed_search_ids: tuple[str, ...] = ("pk",)  # integer fields a number is looked up in

    def get_search_results(self, request, queryset, search_term):
        term = textsearch.clean(search_term)
        if not term:
            return queryset, False
        folded = textsearch.fold(term).lstrip("@#")
        matches = Q()
        if term.isdigit() and len(term) < 19:
            for field in self.indexed_search_ids:
                matches |= Q(**{field: int(term)})
        aliases = {}
        for number, field in enumerate(self.indexed_search_fields):
            aliases[f"_folded_{number}"] = textsearch.SearchFold(F(field))
            matches |= Q(**{f"_folded_{number}__contains": folded})
        for field in self.indexed_search_exact:
            matches |= Q(**{f"{field}__iexact": term})
        if self.indexed_search_document and textsearch.tsquery(term):
            document = Func(F("caption"), F("prompt"), Value(False), function="public.search_video_document",
                            output_field=SearchVectorField())  # fmt: skip
            aliases["_document"] = document
            matches |= Q(_document=SearchQuery(textsearch.tsquery(term), config="simple", search_type="raw"))
        if not matches:
            return queryset.none(), False
        may_have_duplicates = any("__" in field for field in self.indexed_search_fields)
        return queryset.alias(**aliases).filter(matches), may_have_duplicates
