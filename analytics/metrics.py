"""Prometheus metrics (`GET /metrics`, behind an API key), summed over processes.

With `PROMETHEUS_MULTIPROC_DIR` set (scripts/run.sh sets and empties it at start)
each process (the ingress and every Rasa worker) writes its figures to files
there, and whichever process answers the scrape sums them
(prometheus_client's multiprocess mode). Without it a scrape sees only the
process that answers it. The inbox depth is read from Redis when scraped, so it
is the same from any process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

#: Twilio waits 15 s for the webhook; the answer should take milliseconds.
WEBHOOK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15)
TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)

WEBHOOK_SECONDS = Histogram(
    "sms_webhook_seconds",
    "Time to answer Twilio's inbound webhook (signature, store, TwiML)",
    buckets=WEBHOOK_BUCKETS,
)
TURN_SECONDS = Histogram(
    "sms_turn_seconds",
    "Time of one Rasa turn for an inbound text (NLU, policies, actions)",
    buckets=TURN_BUCKETS,
)
SENDS = Counter(
    "sms_sends", "Texts handed to Twilio, by the result of the send", ["status"]
)
SEND_RETRIES = Counter(
    "sms_send_retries", "Send attempts repeated after Twilio did not take a text"
)
SIGNATURE_REJECTIONS = Counter(
    "sms_signature_rejections",
    "Webhook and status requests refused for a missing or wrong X-Twilio-Signature",
)
OPT_OUTS = Counter("sms_opt_outs", "STOP and the other opt-out words received")


class _Value(Collector):
    def __init__(self, family: GaugeMetricFamily) -> None:
        self.family = family

    def collect(self) -> Iterator[Metric]:
        yield self.family


def render(inbox_conversations: int | None) -> tuple[bytes, str]:
    """The text a scrape gets: every process's figures, and the inbox from Redis."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Everything())
    if inbox_conversations is not None:
        gauge = GaugeMetricFamily(
            "sms_inbox_conversations",
            "Conversations with texts waiting for their turn (read from Redis)",
            value=inbox_conversations,
        )
        registry.register(_Value(gauge))
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Everything(Collector):
    """This process's default registry (its metrics, the process collectors)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
