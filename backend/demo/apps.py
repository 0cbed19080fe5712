from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for `make run`: it sits above every app (it creates creators, cameos, videos,
    characters and revenue), so it is an app of its own, outside the layers."""

    name = "backend.demo"
    label = "demo"
    verbose_name = "Demo data"
