"""Build hook for the optional C accelerator of the kubelet payload decoder.

All metadata lives in pyproject.toml; this file only declares the extension.  ``optional=True``
lets an install without a C compiler succeed: ``metricsd.scraper.decode`` then runs its pure
Python paths (``decode.ACCELERATED`` is False).  See docs/metricsd-decoder.md.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "metricsd.scraper._scan",
            ["metricsd/scraper/_scan.c"],
            optional=True,
        )
    ]
)
