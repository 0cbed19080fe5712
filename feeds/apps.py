from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "feeds"
    label = "feeds"
    verbose_name = "Feeds"

    def ready(self) -> None:
        from feeds import receivers  # noqa: F401  (connects video event receivers)
