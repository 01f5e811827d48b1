"""How the fleet runs a pod a control plane hands it, per image: delays and idle usage.

Why: a Deployment applied with kubectl names an image and says nothing about how long the
image takes to pull and start, how the application uses CPU and memory when idle, or how long
it takes to exit on SIGTERM — things a real cluster shows and an HPA experiment depends on.
The fleet spec's ``images:`` list says it per image pattern (first match wins); a pod's own
``sim.metricsd.io/…`` annotations override it (``fakeapiserver.controllers.fleetpods``). The
readiness probe, the grace period and the resources come from the pod spec itself.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["DEFAULT_PROFILE", "ImageProfile", "profile_for"]


@dataclass(frozen=True)
class ImageProfile:
    """Settings for containers whose image matches ``pattern`` (an fnmatch glob)."""

    pattern: str = "*"
    startup_seconds: float = 0.0  # ContainerCreating: pull and create
    termination_seconds: float | None = None  # exit after SIGTERM; None: at the grace's end
    run_seconds: float = 1.0  # an init container's run to completion
    cpu: float = 0.001  # idle usage (cores) until a load model drives it
    memory: float = 4 * 1024 * 1024  # idle working set (bytes)

    def matches(self, image: str) -> bool:
        return fnmatch.fnmatchcase(image, self.pattern)


DEFAULT_PROFILE = ImageProfile()


def profile_for(profiles: Iterable[ImageProfile], image: str) -> ImageProfile:
    """The first profile whose pattern matches ``image``, else the defaults."""
    for profile in profiles:
        if profile.matches(image):
            return profile
    return DEFAULT_PROFILE
