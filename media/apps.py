from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "media"
    label = "media"
    verbose_name = "Media and renders"

    def ready(self) -> None:
        from backend.creators.quotas import usage_register
        from media import checks, receivers  # noqa: F401  (registers this app's checks, connects its receivers)
        from media.selectors import renders_used_today

        usage_register(allowance="daily_renders", used=lambda user: renders_used_today(user=user))
