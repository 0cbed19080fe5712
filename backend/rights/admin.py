"""Rights holders, their characters' policies, the approvals queue and the ledger.

A policy change goes through ``character_policy_update`` (audited; turning a
character off cancels its renders); approvals are decided by
``usage_approval_decide`` (audited). Nothing here is hard-deleted: a holder's
characters, approvals and ledger rows are records that other rows point to.
"""

from django import forms
from django.contrib import admin
from django.http import HttpResponse
from django.utils import timezone

from backend.core import names
from backend.core.admin import ModerateActions, ServiceActionsOnly, run_each
from backend.core.errors import DomainError
from backend.rights import selectors, services
from backend.rights.models import Character, LedgerEntry, RevenueEvent, RightsHolder, UsageApproval


@admin.register(RightsHolder)
class RightsHolderAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    filter_horizontal = ["members"]
    actions = ["this_months_statement"]

    @admin.action(description="Download this month's statement (CSV)")
    def this_months_statement(self, request, queryset):
        today = timezone.localdate()
        rows = [selectors.statement_csv(selectors.holder_statement(holder=holder, year=today.year, month=today.month))
                for holder in queryset]  # fmt: skip
        response = HttpResponse("".join(rows), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="statement-{today:%Y-%m}.csv"'
        return response

    def has_delete_permission(self, request, obj=None):
        return False


class CharacterForm(forms.ModelForm):
    """A character may not be named, or aliased, after a protected likeness or a blocked term."""

    class Meta:
        model = Character
        fields = "__all__"  # noqa: DJ007  (the admin's own fieldsets decide what shows)

    def clean(self):
        cleaned = super().clean()
        for field in ("name", "aliases"):
            try:
                names.text_guard(user=None, fields={field: cleaned.get(field)}, skip=("characters",))
            except DomainError as refusal:
                self.add_error(field, str(refusal.detail))
        return cleaned


@admin.register(Character)
class CharacterAdmin(ModerateActions, admin.ModelAdmin):
    """A policy edit is saved by ``character_policy_update``; the holder is fixed once created (revenue follows it)."""

    POLICY_FIELDS = ("allowed", "scope", "restrictions", "needs_approval", "revenue_share_bps")

    form = CharacterForm
    list_display = ["name", "holder", "allowed", "scope", "needs_approval", "revenue_share_bps"]
    list_filter = ["allowed", "scope", "needs_approval", "holder"]
    search_fields = ["name", "aliases", "holder__name"]
    actions = ["take_down_videos"]

    def get_readonly_fields(self, request, obj=None):
        return ["holder", "created_at"] if obj else ["created_at"]

    def has_delete_permission(self, request, obj=None):
        return False  # videos and ledger rows point to it; turn "allowed" off instead

    @admin.action(description="Take down published videos using these characters (the holder asked)",
                  permissions=["moderate"])  # fmt: skip
    def take_down_videos(self, request, queryset):
        count = sum(services.character_videos_take_down(character=c, by=request.user, reason="holder request")
                    for c in queryset)  # fmt: skip
        self.message_user(request, f"{count} video(s) taken down.")

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        # The form has already set every changed field on obj: save the others alone, then let
        # the service change the policy (it compares with the row as stored, audits, cancels renders).
        policy = {name: form.cleaned_data[name] for name in form.changed_data if name in self.POLICY_FIELDS}
        other = [name for name in form.changed_data if name not in self.POLICY_FIELDS]
        if other:
            obj.save(update_fields=[*other, "updated_at"])  # a renamed or re-aliased character recompiles the guard
        if policy:
            services.character_policy_update(character=obj, by=request.user, **policy)


@admin.register(UsageApproval)
class UsageApprovalAdmin(ServiceActionsOnly, admin.ModelAdmin):
    """The approvals queue: holders (or staff for them) approve or deny each use, through the service."""

    list_display = ["character", "requester", "status", "created_at", "decided_at"]
    list_filter = ["status", "character__holder"]
    list_select_related = ["character", "requester"]
    actions = ["approve", "deny"]

    @admin.action(description="Approve the selected uses", permissions=["moderate"])
    def approve(self, request, queryset):
        run_each(self, request, queryset,
                 lambda a: services.usage_approval_decide(approval=a, by=request.user, approve=True),
                 "approved")  # fmt: skip

    @admin.action(description="Deny the selected uses", permissions=["moderate"])
    def deny(self, request, queryset):
        run_each(self, request, queryset,
                 lambda a: services.usage_approval_decide(approval=a, by=request.user, approve=False),
                 "denied")  # fmt: skip


@admin.register(RevenueEvent)
class RevenueEventAdmin(ServiceActionsOnly, admin.ModelAdmin):
    list_display = ["external_id", "video", "kind", "amount_minor", "currency", "created_at"]
    search_fields = ["external_id"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ServiceActionsOnly, admin.ModelAdmin):
    list_display = ["event", "party", "user", "holder", "character", "amount_minor", "currency", "created_at"]
    list_filter = ["party", "currency", "holder"]
    search_fields = ["user__handle", "holder__name", "event__external_id"]
