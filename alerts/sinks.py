"""Where alerts go: the Sink protocol that the outbox drain in newsbot.run talks to."""

from __future__ import annotations

from typing import Protocol

from newsbot.models import Alert, DeliveryOutcome


class Sink(Protocol):
    """Delivers one alert and says what happened; must not raise for a delivery failure."""

    def send(self, alert: Alert) -> DeliveryOutcome: ...
