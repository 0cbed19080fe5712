from django.apps import AppConfig


class CreatorsConfig(AppConfig):
    name = "backend.creators"
    label = "creators"
    verbose_name = "Creators"
