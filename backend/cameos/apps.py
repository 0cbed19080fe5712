from django.apps import AppConfig


class CameosConfig(AppConfig):
    name = "backend.cameos"
    label = "cameos"
    verbose_name = "Cameos"

    def ready(self) -> None:
        # selectors registers this app's list with the name guard (``backend.core.names.text_guard``).
        from backend.cameos import receivers, selectors  # noqa: F401
