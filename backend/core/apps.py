from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Infrastructure every app uses; its one model is the audit log."""

    name = "backend.core"
    label = "core"
    verbose_name = "Audit"
