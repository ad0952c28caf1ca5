"""Test-wide settings: tests do not time things, so neither does hypothesis.

Hypothesis's per-example deadline and its "too slow" health check measure wall-clock time; on a
loaded two-core machine (CI, or several test runs at once) they fail tests whose logic is sound.
What a property test checks is its property, never its speed: benchmarks/ measures speed.
"""

from hypothesis import HealthCheck, settings

settings.register_profile("amity", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("amity")
