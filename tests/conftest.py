import os

from hypothesis import HealthCheck, settings

# Deadlines are meaningless on shared CI machines; examples are derandomised in CI
# so a red run is reproducible.
settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "default")
