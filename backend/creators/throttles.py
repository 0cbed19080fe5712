"""Login and sign-up throttles per account, on top of the per-address `auth` scope.

A password guesser rotating addresses still meets the account's limit; one rotating accounts
still meets the address's. Counters live in the default cache (Redis), like DRF's throttles.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.urls import reverse
from rest_framework.throttling import SimpleRateThrottle


def _account_key(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


class AccountRateThrottle(SimpleRateThrottle):
    """Attempts naming one email (token, registration), whatever address they come from."""

    scope = "auth_account"

    def get_cache_key(self, request, view):
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None
        return self.cache_format % {"scope": self.scope, "ident": _account_key(email)}


class AdminLoginThrottleMiddleware:
    """The admin login form: failed attempts counted per account and per address; past the limit, 429.

    A failure is the form shown again after a POST (a success redirects). Counters expire
    ADMIN_LOGIN_WINDOW_S after the first failure; the answer carries Retry-After.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self._path = None

    def __call__(self, request):
        if request.method != "POST":
            return self.get_response(request)
        if self._path is None:
            self._path = reverse("admin:login")
        if request.path != self._path:
            return self.get_response(request)
        keys = [
            f"admin-login:addr:{request.META.get('REMOTE_ADDR', '')}",
            f"admin-login:acct:{_account_key(request.POST.get('username', ''))}",
        ]
        limit = settings.ADMIN_LOGIN_MAX_FAILURES
        window = settings.ADMIN_LOGIN_WINDOW_S
        now = time.time()
        for key in keys:
            entry = cache.get(key)
            if entry and entry[0] >= limit and entry[1] + window > now:
                response = HttpResponse("Too many failed logins. Try again later.\n", status=429)
                response["Retry-After"] = str(max(1, math.ceil(entry[1] + window - now)))
                response["Content-Type"] = "text/plain; charset=utf-8"
                return response
        response = self.get_response(request)
        if response.status_code == 200:  # the form again: a failed login
            for key in keys:
                entry = cache.get(key)
                if not entry or entry[1] + window <= now:
                    entry = (0, now)
                cache.set(key, (entry[0] + 1, entry[1]), timeout=window)
        return response
