"""gunicorn reads this file from the working directory (the image's /app, `make run`'s checkout).

Its own lines (workers booting, a worker timing out) go through the service's logging: JSON lines
with the redacting filter, like every other line on stdout (backend/core/logs.py). Its access log
stays off: backend/core/middleware.py writes one redacted line per request.
"""

import os

from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

logconfig_dict = settings.LOGGING
