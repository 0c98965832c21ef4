import os

# One BLAS thread per process: the scipy solvers behind the model classes run
# several times slower when their threads fight over CI's two cores.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import builtins  # noqa: E402
import warnings  # noqa: E402

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# When a property test fails, hypothesis's pytest plugin imports its patch writer,
# which imports libcst, which emits a DeprecationWarning (from mypy_extensions) at
# import time. Under filterwarnings=error that turns the failure report into an
# INTERNALERROR that hides the falsifying example; import it once here, quietly.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import hypothesis.extra._patching  # noqa: F401
    except ImportError:  # libcst not installed: the plugin skips the patch
        pass

# Deadlines are meaningless on shared CI machines. Locally ("default") hypothesis
# explores new examples every run and keeps failures in its example database. In CI
# ("ci", selected by the CI environment variable or HYPOTHESIS_PROFILE=ci) examples
# are derandomised and no database is read or written, so a red run is reproducible
# and a once-failing example is never replayed forever.
# derandomize=False is explicit: hypothesis itself derandomises when it detects CI.
settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default")
)


@pytest.fixture
def without_dask(monkeypatch):
    """Make ``import dask`` / ``import distributed`` fail, as on an install without the dask extra."""
    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.split(".")[0] in ("dask", "distributed"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
