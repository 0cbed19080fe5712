"""Domain events that notify someone: each writes its message to the outbox with the cause."""
