"""Path converters for names in URLs: a path that cannot name anything is a 404 at routing,
before a query runs (PostgreSQL refuses a NUL byte in text, for one)."""

from django.urls.converters import StringConverter


class HandleConverter(StringConverter):
    regex = r"[A-Za-z0-9_.]{1,30}"  # the characters of a handle (creators.models.HANDLE_PATTERN)


class HashtagConverter(StringConverter):
    regex = r"\w{1,50}"  # the characters of a hashtag (videos.services.HASHTAG_PATTERN)


class DeviceTokenConverter(StringConverter):
    regex = r"[A-Za-z0-9_:.\-]{1,512}"  # the characters of an FCM registration token (notifications.devices)
