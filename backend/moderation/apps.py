from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "backend.moderation"
    label = "moderation"
    verbose_name = "Moderation"
