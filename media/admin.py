from django.contrib import admin, messages

from backend.core.admin import ServiceActionsOnly
from backend.core.errors import DomainError
from media import services
from media.models import ProviderPrediction, RenderJob


@admin.register(RenderJob)
class RenderJobAdmin(ServiceActionsOnly, admin.ModelAdmin):
    list_display = [
        "id", "requester", "kind", "status", "stage", "progress", "attempts", "provider", "error_code", "created_at",
        "run_seconds",
    ]  # fmt: skip
    list_filter = ["status", "provider", "kind", "error_code", "created_at"]
    search_fields = ["id", "requester__handle", "prompt", "provider_job_id", "idempotency_key"]
    list_select_related = ["requester"]
    date_hierarchy = "created_at"
    # Jobs change only through services (actions below), never by editing fields (a save would also
    # overwrite the state a worker wrote meanwhile), and are neither added (renders are requested
    # through the API, with every check) nor deleted here: ServiceActionsOnly.
    readonly_fields = [*(f.name for f in RenderJob._meta.fields), "cameos"]
    actions = ["retry_jobs", "cancel_jobs"]

    @admin.display(description="run (s)")
    def run_seconds(self, job: RenderJob):
        if job.started_at and job.finished_at:
            return round((job.finished_at - job.started_at).total_seconds(), 1)
        return None

    @admin.action(description="Retry the selected failed or cancelled renders", permissions=["moderate"])
    def retry_jobs(self, request, queryset):
        self._apply(request, queryset, lambda job: services.render_job_retry(job=job), "retried")

    @admin.action(description="Cancel the selected renders", permissions=["moderate"])
    def cancel_jobs(self, request, queryset):
        self._apply(
            request,
            queryset,
            lambda job: services.render_job_cancel(job=job, reason="cancelled_by_moderator"),
            "cancelled",
        )

    def _apply(self, request, queryset, action, verb):
        done = 0
        for job in queryset:
            try:
                action(job)
                done += 1
            except DomainError as error:
                self.message_user(request, f"{job.id}: {error.detail}", level=messages.WARNING)
        self.message_user(request, f"{done} render(s) {verb}.")


@admin.register(ProviderPrediction)
class ProviderPredictionAdmin(ServiceActionsOnly, admin.ModelAdmin):
    """What Cog and Replicate reported by webhook (read-only: only their webhooks write it)."""

    list_display = ["prediction_id", "provider", "status", "error", "updated_at"]
    list_filter = ["provider", "status"]
    search_fields = ["prediction_id"]
    readonly_fields = [f.name for f in ProviderPrediction._meta.fields]
