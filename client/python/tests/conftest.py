"""Test setup: stubs generated from proto/ now, and a real `stepsize serve` (embedded KRaft broker,
estimator, gRPC on loopback) started from the cli jar (cli/target/stepsize.jar), found relative to the repository root.

Nothing here skips: a missing jar, protoc or Python package fails the run, because CI installs them.
"""
import csv
import io
import os
import re
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)
REPO_ROOT = os.path.dirname(os.path.dirname(PACKAGE_ROOT))
JAR = os.path.join(REPO_ROOT, "cli", "target", "stepsize.jar")
EXAMPLES = os.path.join(PACKAGE_ROOT, "examples")

sys.path.insert(0, PACKAGE_ROOT)
sys.path.insert(0, EXAMPLES)
import gen_stubs  # noqa: E402

gen_stubs.generate()  # the stubs are never committed: every test run compiles the current .proto

from stepsize.client import StepsizeClient  # noqa: E402

_GRPC_PORT = re.compile(r"Stepsize gRPC on port (\d+)")
_KAFKA = re.compile(r"embedded Kafka at (\S+?):? trainers")


class Service:
    """One `stepsize serve` process on free ports with its own data directory."""

    def __init__(self, data_dir, log_path, grpc_port=0, kafka_port=0):
        self.data_dir = str(data_dir)
        self.log_path = str(log_path)
        self.process = None
        self.grpc_port = None
        self.kafka_bootstrap = None
        self._ports = (grpc_port, kafka_port)  # 0: any free port

    @property
    def target(self):
        return f"localhost:{self.grpc_port}"

    def start(self, timeout=90.0):
        if not os.path.isfile(JAR):
            pytest.fail(f"{JAR} is missing: build it with `mvn -B -o -q -pl cli -am package -DskipTests`")
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            ["java", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", JAR, "serve",
             "--grpc-port", str(self._ports[0]), "--kafka-port", str(self._ports[1]), "--data-dir", self.data_dir,
             "--http-port", "-1"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            text = open(self.log_path, errors="replace").read()
            port = _GRPC_PORT.findall(text)
            kafka = _KAFKA.findall(text)
            if port and kafka:
                self.grpc_port = int(port[-1])
                self.kafka_bootstrap = kafka[-1]
                break
            if self.process.poll() is not None:
                pytest.fail(f"stepsize serve exited with {self.process.returncode}:\n{text[-4000:]}")
            time.sleep(0.2)
        else:
            self.kill()
            pytest.fail(f"stepsize serve did not start within {timeout} s; log {self.log_path}")
        with StepsizeClient(self.target) as client:
            if not client.wait_until_serving(timeout=max(1.0, end - time.monotonic())):
                self.kill()
                pytest.fail(f"stepsize serve never reported SERVING; log {self.log_path}")
        return self

    def kill(self):
        """SIGKILL: the service vanishes mid-call, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session")
def service(tmp_path_factory):
    """The service shared by the tests that do not kill it."""
    base = tmp_path_factory.mktemp("stepsize")
    s = Service(base / "data", base / "serve.log").start()
    yield s
    s.stop()


@pytest.fixture
def client(service):
    c = StepsizeClient(service.target)
    yield c
    c.close()


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    # the machine is shared: small models gain nothing from intra-op threads
    import torch
    torch.set_num_threads(1)


def java_csv(total, warmup, boundaries, offset, lr_max, lr_min, phi=None, baseline=None):
    """`stepsize schedule` (the Java schedule library through the CLI) for a fixed-phi job, or with ``baseline``
    the named baseline (LrEvaluator.evaluate(job, baseline, s)), as rows."""
    assert (phi is None) != (baseline is None), "exactly one of phi and baseline"
    cmd = ["java", "-Xmx128m", "-XX:TieredStopAtLevel=1", "-jar", JAR, "schedule", "--total-steps", str(total),
           "--warmup-steps", str(warmup), "--phase-offset", str(offset), "--lr-max", repr(lr_max),
           "--lr-min", repr(lr_min)] + (["--phi", repr(phi)] if baseline is None else ["--baseline", baseline])
    if boundaries:
        cmd += ["--boundaries", ",".join(map(str, boundaries))]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == total
    return [{"step": int(r["step"]), "lr": float(r["lr"]), "factor": float(r["factor"]), "phase": int(r["phase"])}
            for r in rows]


def java_baseline_names():
    """The baseline names the Java CLI accepts, as its refusal of an unknown one lists them (from Baseline.values())."""
    cmd = ["java", "-Xmx128m", "-XX:TieredStopAtLevel=1", "-jar", JAR, "schedule", "--total-steps", "3",
           "--lr-max", "1", "--lr-min", "0", "--baseline", "no-such-baseline"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    m = re.search(r"baseline: must be one of (.*) \(got no-such-baseline\)", done.stderr)
    assert m, done.stderr
    return m.group(1).split(", ")
