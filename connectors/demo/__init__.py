"""The built-in demo source: a generated region served by a stand-in Moodle on 127.0.0.1.

The stand-in speaks the wire format of the real recordings, so the demo exercises the real
Moodle connector end to end.
"""

from connectors.demo.generate import generate_demo_world
from connectors.demo.standin import StandinMoodle
from connectors.demo.world import World

__all__ = ["StandinMoodle", "World", "generate_demo_world"]
