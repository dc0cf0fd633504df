"""A loopback server speaking the Anthropic Messages API, answering from the offline synthesizer.

It has configurable latency, rate limits (429 with `retry-after` and `anthropic-ratelimit-*` headers),
overload (529) and server errors (500), malformed answers, defects injected into first answers
that a retry carrying the validator's feedback repairs, and silent defects validation cannot see,
each atom labelled by whether its latest answer still carries one (the model is in server.py). The
official SDK pointed at it with `base_url` cannot tell it from the real API on the paths MGE uses.
"""

from mge_assets.simulator.server import Simulator, SimulatorSettings, create_app, running_simulator, serve

__all__ = ["Simulator", "SimulatorSettings", "create_app", "running_simulator", "serve"]
