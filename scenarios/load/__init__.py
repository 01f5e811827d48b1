"""The load model, closed loop: demand over time, split among a Deployment's Ready pods.

``spec`` (the validated YAML shape), ``demand`` (shapes cut into constant intervals),
``split`` (the Service's share per pod, capped by limits), ``driver`` (keeps the fleet's
pods at their share as demand and readiness change). See docs/scenarios.md, "Load".
"""

from scenarios.load.demand import Demand, Interval
from scenarios.load.spec import LOAD, LoadSpec, load_spec_file, load_spec_text
from scenarios.load.split import PodShare, Slot, split

__all__ = ["LOAD", "Demand", "Interval", "LoadSpec", "PodShare", "Slot", "load_spec_file",
           "load_spec_text", "split"]
