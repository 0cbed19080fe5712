from django.apps import AppConfig


class RightsConfig(AppConfig):
    name = "backend.rights"
    label = "rights"
    verbose_name = "Rights holders and revenue"

    def ready(self) -> None:
        # Registers this app's list with the name guard (``backend.core.names.text_guard``).
        from backend.rights import selectors  # noqa: F401
