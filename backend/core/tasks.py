"""Tasks of ``core``: autodiscovery registers them with every worker from this module."""

from backend.core.mail import mail_send

__all__ = ["mail_send"]
