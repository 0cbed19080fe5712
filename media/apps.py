from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "media"
    label = "media"
    verbose_name = "Media and renders"

    def ready(self) -> None:
        from media import receivers  # noqa: F401  (connects the consent-withdrawn receiver)
