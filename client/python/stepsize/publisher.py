"""ProbePublisher: Lanczos probes and gradient statistics to the estimator.

By default through the service's ReportProbes, which validates every probe of a request before
publishing any (a bad probe is INVALID_ARGUMENT, naming it). With ``kafka_bootstrap_servers``, a
confluent-kafka producer writes ProbeReport bytes straight to the probes topic, keyed by job_id
so a job's probes stay in order on one partition; bad probes sent that way are dead-lettered by
the estimator instead.

Probes are measurements, not training state: when the service or broker is unreachable the
publisher logs a warning and drops the batch (``strict=True`` raises instead), so training goes
on. A Lanczos probe older than the step the estimator has already processed (a late worker) is
FAILED_PRECONDITION from the service; it is dropped the same way, since the estimator would not use
it either. Errors that mean the caller sent something wrong always raise.
"""
import logging
from typing import Iterable, Optional

import grpc

from stepsize.client import StepsizeClient, is_transient
from stepsize.v1 import stepsize_pb2 as pb

log = logging.getLogger(__name__)

DEFAULT_TOPIC = "stepsize.probes"

# LanczosResult.start / .operator (stepsize.lanczos) to the proto enums; names, not imports, so that
# the publisher needs no torch
_STARTS = {"gradient": pb.START_GRADIENT, "random": pb.START_RANDOM}
_OPERATORS = {"hessian": pb.OPERATOR_HESSIAN, "preconditioned": pb.OPERATOR_PRECONDITIONED}


def lanczos_report(job_id: str, step: int, worker_id: str, result) -> pb.ProbeReport:
    """The ProbeReport of one Lanczos run: alpha, beta and the run's start and operator.

    ``result`` is a LanczosResult or anything with alpha and beta; its ``start`` ("gradient" or
    "random") and ``operator`` ("hessian" or "preconditioned") are sent when it has them. A result
    without them is sent with both unspecified, which the proto defines as random and Hessian, the
    only kind of probe there was before DESIGN.md §1.7. Any other value raises ValueError.
    """
    start = getattr(result, "start", None)
    operator = getattr(result, "operator", None)
    if start is not None and start not in _STARTS:
        raise ValueError(f"start: must be one of {', '.join(_STARTS)} (got {start!r})")
    if operator is not None and operator not in _OPERATORS:
        raise ValueError(f"operator: must be one of {', '.join(_OPERATORS)} (got {operator!r})")
    probe = pb.LanczosProbe(alpha=list(result.alpha), beta=list(result.beta),
                            start=_STARTS.get(start, pb.START_UNSPECIFIED),
                            operator=_OPERATORS.get(operator, pb.OPERATOR_UNSPECIFIED))
    return pb.ProbeReport(job_id=job_id, step=step, worker_id=worker_id, lanczos=probe)


class ProbePublishError(RuntimeError):
    pass


class ProbePublisher:
    def __init__(self, client: Optional[StepsizeClient] = None, *, kafka_bootstrap_servers: Optional[str] = None,
                 topic: str = DEFAULT_TOPIC, worker_id: str = "", strict: bool = False,
                 kafka_config: Optional[dict] = None, flush_timeout: float = 10.0):
        if client is None and kafka_bootstrap_servers is None:
            raise ValueError("ProbePublisher needs a StepsizeClient or kafka_bootstrap_servers")
        self.client = client
        self.worker_id = worker_id
        self.strict = strict
        self.topic = topic
        self.flush_timeout = flush_timeout
        self.dropped = 0
        self._producer = None
        if kafka_bootstrap_servers is not None:
            from confluent_kafka import Producer  # only needed when asked for Kafka
            # murmur2 is the Java clients' partitioner: a probe must land on the partition of its
            # job's record (the estimator joins them co-partitioned); librdkafka's default
            # (consistent_random, CRC32) would put it elsewhere and the probe would be dead-lettered
            config = {"bootstrap.servers": kafka_bootstrap_servers, "enable.idempotence": True, "acks": "all",
                      "partitioner": "murmur2_random"}
            config.update(kafka_config or {})
            self._producer = Producer(config)

    @property
    def via_kafka(self) -> bool:
        return self._producer is not None

    def publish_lanczos(self, job_id: str, step: int, result, worker_id: Optional[str] = None) -> int:
        """One LanczosResult as the probe of ``step``, with its start and operator (see lanczos_report)."""
        return self.publish([lanczos_report(job_id, step, self._worker(worker_id), result)])

    def publish_gradient(self, job_id: str, step: int, loss: float, grad_norm: float,
                         worker_id: Optional[str] = None, microbatch_grad_norms: Iterable[float] = ()) -> int:
        """The gradient statistics of ``step``; the service keeps them per job (StepsizeClient.gradient_stats)."""
        probe = pb.ProbeReport(job_id=job_id, step=step, worker_id=self._worker(worker_id),
                               gradient=pb.GradientStats(loss=loss, grad_norm=grad_norm,
                                                         microbatch_grad_norms=list(microbatch_grad_norms)))
        return self.publish([probe])

    def publish(self, probes: Iterable[pb.ProbeReport]) -> int:
        """Sends the probes; returns how many were accepted (0 when dropped for an outage)."""
        probes = list(probes)
        if not probes:
            return 0
        if self._producer is not None:
            return self._publish_kafka(probes)
        try:
            return self.client.report_probes(probes)
        except grpc.RpcError as e:
            late = e.code() == grpc.StatusCode.FAILED_PRECONDITION
            if self.strict or not (is_transient(e) or late):
                raise
            return self._drop(probes, f"ReportProbes failed: {e.code().name}" + (f" ({e.details()})" if late else ""))

    def _publish_kafka(self, probes):
        errors = []

        def delivered(err, _msg):
            if err is not None:
                errors.append(err)

        for p in probes:
            self._producer.produce(self.topic, key=p.job_id.encode(), value=p.SerializeToString(),
                                   on_delivery=delivered)
        left = self._producer.flush(self.flush_timeout)
        if errors or left:
            reason = f"Kafka delivery to {self.topic} failed: " + (str(errors[0]) if errors else f"{left} not acknowledged")
            if self.strict:
                raise ProbePublishError(reason)
            return self._drop(probes, reason)
        return len(probes)

    def _drop(self, probes, reason):
        self.dropped += len(probes)
        log.warning("dropped %d probe(s) of job %s: %s", len(probes), probes[0].job_id, reason)
        return 0

    def _worker(self, worker_id):
        return self.worker_id if worker_id is None else worker_id

    def close(self):
        if self._producer is not None:
            self._producer.flush(self.flush_timeout)
            self._producer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
