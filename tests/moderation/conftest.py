REPORTS = "/api/v1/reports"


def report(client, target_type, target_id, reason="spam", **extra):
    """Report through the API, as a client would."""
    body = {"target_type": target_type, "target_id": target_id, "reason": reason, **extra}
    return client.post(REPORTS, body, format="json")
