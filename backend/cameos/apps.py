from django.apps import AppConfig


class CameosConfig(AppConfig):
    name = "backend.cameos"
    label = "cameos"
    verbose_name = "Cameos"
