# One image for web, worker and beat; the command chooses the role (see compose.yaml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# requirements.txt only: the embedded PostgreSQL and Redis (requirements-embedded.txt) are for
# `make run`; the image needs DATABASE_URL and REDIS_URL.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files are built into the image; settings need URLs only to be parsed here.
RUN DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    SECRET_KEY=collectstatic-only REMIX_VAR_DIR=/app/var \
    python manage.py collectstatic --no-input --verbosity 0

RUN useradd --system --uid 10001 --home-dir /app remix && mkdir -p /app/var/metrics && chown -R remix /app/var
USER remix

EXPOSE 8000
# Gunicorn trusts X-Forwarded-* only from FORWARDED_ALLOW_IPS (it reads the variable itself);
# set it to the load balancer's addresses, never "*".
ENV FORWARDED_ALLOW_IPS=127.0.0.1 \
    NUM_PROXIES=0
# No gunicorn access log: the app writes one JSON line per request with secrets redacted
# (backend/core/middleware.py).
CMD ["gunicorn", "backend.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4"]
