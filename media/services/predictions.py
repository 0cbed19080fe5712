"""What render providers report by webhook (Cog, Replicate), kept in PostgreSQL for ``poll`` to read."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from backend.core import storage
from media.models import ProviderPrediction
from media.providers import cog, replicate
from media.providers.predictions import output_reference


@transaction.atomic
def provider_prediction_record(*, provider: str, prediction_id: str, status: str, output_file: str = "",
                               output_url: str = "", error: str = "",
                               job_key: str = "") -> ProviderPrediction:  # fmt: skip
    """Keep the newest state of a prediction; a late or replayed event never undoes a final one.

    Webhooks may arrive twice and out of order (a provider retries those not answered in time). A
    final state is kept as it is; an output file another prediction already holds is refused (the
    prediction fails): an upload belongs to the first prediction whose authenticated webhook named it.
    """
    ProviderPrediction.objects.bulk_create(
        [ProviderPrediction(provider=provider, prediction_id=prediction_id)], ignore_conflicts=True
    )
    prediction = ProviderPrediction.objects.select_for_update().get(provider=provider, prediction_id=prediction_id)
    if job_key and not prediction.job_key:
        prediction.job_key = job_key[:100]
        prediction.save(update_fields=["job_key"])
    if prediction.is_final:
        return prediction
    if output_file and ProviderPrediction.objects.filter(output_file=output_file).exclude(id=prediction.id).exists():
        status, output_file, error = "failed", "", "The output named belongs to another prediction."
    prediction.status = status[:20]
    prediction.output_file = output_file
    prediction.output_url = output_url[:2000]
    prediction.error = str(error or "")[:500]
    prediction.updated_at = timezone.now()
    prediction.save(update_fields=["status", "output_file", "output_url", "error", "updated_at"])
    return prediction


def cog_webhook_receive(*, prediction_id: str, payload: dict) -> ProviderPrediction:
    """Record a Cog webhook; a succeeded prediction's output is resolved to a file in private storage.

    The caller checked the webhook's token for ``prediction_id``. A data URI decoded here and not
    kept (the prediction was already final) is deleted again.
    """
    status = str(payload.get("status") or "")
    fields = {"error": payload.get("error") or ""}
    output = output_reference(payload.get("output")) if status == "succeeded" else ""
    if status == "succeeded":
        fields |= cog.webhook_output(output)
        if not (fields.get("output_file") or fields.get("output_url")):
            status = "failed"
            fields["error"] = fields["error"] or "The model returned no video."
    prediction = provider_prediction_record(provider=cog.NAME, prediction_id=prediction_id, status=status, **fields)
    decoded = fields.get("output_file", "") if output.startswith("data:") else ""
    if decoded and prediction.output_file != decoded:
        storage.private().delete(decoded)
    return prediction


def replicate_webhook_receive(*, payload: dict, job_key: str = "") -> ProviderPrediction:
    """Record a Replicate webhook (the caller verified its signature and the job key its URL names):
    status, output URL, error, and which render job the prediction was created for."""
    status = str(payload.get("status") or "")
    output = output_reference(payload.get("output")) if status == "succeeded" else ""
    return provider_prediction_record(provider=replicate.NAME, prediction_id=payload["id"], status=status,
                                      output_url=output, error=payload.get("error") or "", job_key=job_key)  # fmt: skip


def provider_predictions_sweep(*, older_than: timedelta) -> int:
    """Forget predictions untouched for ``older_than`` and remove their output files, and uploads no
    prediction claimed (a render's original is stored apart, under renders/). How many files went.

    Choose ``older_than`` beyond any render's retries (the webhook tokens live two days).
    """
    cutoff = timezone.now() - older_than
    store = storage.private()
    stale = ProviderPrediction.objects.filter(updated_at__lt=cutoff)
    removed = 0
    for name in stale.exclude(output_file="").values_list("output_file", flat=True):
        store.delete(name)
        removed += 1
    stale.delete()
    claimed = set(ProviderPrediction.objects.exclude(output_file="").values_list("output_file", flat=True))
    folders = store.listdir(cog.UPLOAD_PREFIX)[0] if store.exists(cog.UPLOAD_PREFIX) else []
    for folder in folders:
        for filename in store.listdir(f"{cog.UPLOAD_PREFIX}/{folder}")[1]:
            name = f"{cog.UPLOAD_PREFIX}/{folder}/{filename}"
            if name not in claimed and store.get_modified_time(name) < cutoff:
                store.delete(name)
                removed += 1
    return removed
