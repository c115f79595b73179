"""Stepsize for PyTorch trainers: budget-aware (UBA) learning rates whose phi follows the live
Hessian condition number, served by a Stepsize service (see docs/DESIGN.md of the repository).

- ``StepsizeClient``: the gRPC API (stubs generated from proto/stepsize/v1/stepsize.proto).
- ``StepsizeScheduler``: a torch LR scheduler following a job, with prefetch and local fallback.
- ``lanczos_probe``: a trainer-side Lanczos run on HVPs by double backward.
- ``ProbePublisher``: sends probes by ReportProbes or straight to Kafka.
- ``stepsize.schedule``: the local formula (DESIGN.md §1.1-1.3), pure Python, no I/O.

torch is an optional extra: the scheduler and the probe import it when first used.
"""
import os as _os
import pkgutil as _pkgutil

# The gRPC stubs (stepsize.v1) are generated, never committed: a wheel carries them inside this
# package; a source checkout has them under build/generated (gen_stubs.py writes them there).
__path__ = _pkgutil.extend_path(__path__, __name__)
_generated = _os.path.join(_os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))),
                           "build", "generated", "stepsize")
if _os.path.isdir(_generated) and _generated not in __path__:
    __path__.append(_generated)

from stepsize.schedule import CurvatureTimeline, JobSchedule, LrValue, Source, evaluate  # noqa: E402

__version__ = "0.1.0"

_LAZY = {
    "StepsizeClient": "stepsize.client",
    "RemoteSchedule": "stepsize.remote",
    "StepsizeScheduler": "stepsize.scheduler",
    "lanczos_probe": "stepsize.lanczos",
    "LanczosResult": "stepsize.lanczos",
    "ProbePublisher": "stepsize.publisher",
}

__all__ = ["CurvatureTimeline", "JobSchedule", "LrValue", "Source", "evaluate"] + sorted(_LAZY)


def __getattr__(name):
    # grpc and torch load only when asked for, so the pure formula works without them
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'stepsize' has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(module), name)
