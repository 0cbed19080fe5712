from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "backend.moderation"
    label = "moderation"
    verbose_name = "Moderation"

    def ready(self) -> None:
        # Registers this app's list with the name guard (``backend.core.names.text_guard``).
        from backend.moderation import selectors  # noqa: F401
