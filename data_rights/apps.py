from django.apps import AppConfig


class DataRightsConfig(AppConfig):
    name = "data_rights"
    label = "data_rights"
    verbose_name = "Data rights"
