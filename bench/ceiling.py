"""The in-process ceiling: how many turns per second one Rasa process can do at all.

The same trained model and the same action server as the stacks, but no HTTP, no
channel and Rasa's in-memory tracker and lock stores: `Agent.handle_message` called
by closed-loop "phones" (each sends its next FAQ text when the answer is back). A
stack's replies/s per Rasa process against this figure is what the channel, Redis
and HTTP cost (issue 13, goal 4).

    .venv/bin/python -m bench.ceiling --action-url http://127.0.0.1:5055/webhook

Prints one JSON line per phone count. bench.throughput runs it as a subprocess
(`--setups ceiling`), so TensorFlow never loads into the driver.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import time
from pathlib import Path

from rasa.core.agent import Agent, load_agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.utils import AvailableEndpoints
from rasa.utils.endpoints import EndpointConfig
from rasa.utils.log_utils import configure_structlog

from bench.soak import QUESTIONS

MODEL = Path(__file__).parents[1] / "models" / "assistant.tar.gz"


async def phone(
    agent: Agent, sender: str, k: int, until: float, turns: list[float]
) -> None:
    turn = 0
    while time.monotonic() < until:
        text = QUESTIONS[(k + turn) % len(QUESTIONS)]
        turn += 1
        started = time.monotonic()
        await agent.handle_message(UserMessage(text, CollectingOutputChannel(), sender))
        if time.monotonic() <= until:
            turns.append(time.monotonic() - started)


async def measure(action_url: str, phones: list[int], seconds: float) -> None:
    endpoints = AvailableEndpoints(action=EndpointConfig(action_url))
    agent = await load_agent(model_path=str(MODEL), endpoints=endpoints)
    for text in QUESTIONS[:5]:  # first turns build caches: not part of the figure
        await agent.handle_message(UserMessage(text, CollectingOutputChannel(), "+1"))
    for count in phones:
        turns: list[float] = []
        until = time.monotonic() + seconds
        senders = [f"+1415557{count:02d}{k:02d}" for k in range(count)]
        await asyncio.gather(
            *(phone(agent, n, k, until, turns) for k, n in enumerate(senders))
        )
        ordered = sorted(turns)
        print(
            json.dumps(
                {
                    "setup": "ceiling",
                    "phones": count,
                    "turns_per_s": round(len(turns) / seconds, 2),
                    "turn_p50_s": round(statistics.median(ordered), 3)
                    if ordered
                    else None,
                }
            ),
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--action-url", required=True)
    parser.add_argument("--phones", type=int, nargs="*", default=[1, 10, 50])
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # Rasa's structlog logs every step at debug level unless configured, as
    # `rasa run` does: printing those cost a turn more than the turn itself.
    configure_structlog(logging.WARNING)
    asyncio.run(measure(args.action_url, args.phones, args.seconds))


if __name__ == "__main__":
    main()
