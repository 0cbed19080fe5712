from django.apps import AppConfig


class VideosConfig(AppConfig):
    name = "backend.videos"
    label = "videos"
    verbose_name = "Videos"

    def ready(self) -> None:
        from backend.videos import receivers  # noqa: F401  (connects the consent receiver)
