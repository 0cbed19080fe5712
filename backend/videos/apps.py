from django.apps import AppConfig


class VideosConfig(AppConfig):
    name = "backend.videos"
    label = "videos"
    verbose_name = "Videos"
