"""Issue 12, item 1: a trainer's own Kafka producer may use any partitioner and any key.

librdkafka's default partitioner is consistent_random (CRC32 of the key), not Java's murmur2, so
most of these probes land on another partition than their job's record. Before the estimator
re-keyed probes by their payload's job_id, 43 of 50 such probes were dead-lettered as "unknown
job". Here every one of them must be estimated, and none dead-lettered.
"""
import time
import uuid

from confluent_kafka import Consumer, Producer

from stepsize.v1 import stepsize_pb2 as pb

JOBS = 50


def _probe(job_id, step):
    return pb.ProbeReport(job_id=job_id, step=step, worker_id="librdkafka",
                          lanczos=pb.LanczosProbe(alpha=[3.0, 1.0], beta=[0.5, 0.0]))


def test_probes_of_librdkafkas_default_partitioner_and_odd_keys_all_find_their_job(service, client):
    run = uuid.uuid4().hex[:8]
    ids = [f"any-partitioner-{run}-{i}" for i in range(JOBS)]
    for job_id in ids:
        client.create_job(pb.JobSpec(job_id=job_id, total_steps=100, lr_max=0.1, lr_min=0.0,
                                     phi_policy=pb.PhiPolicy(condition_number=pb.PhiPolicy.ConditionNumber())))

    producer = Producer({"bootstrap.servers": service.kafka_bootstrap})  # default partitioner
    for i, job_id in enumerate(ids):
        # the key is only a hint: the job id itself, in upper case, or no key at all
        key = [job_id, job_id.upper(), None][i % 3]
        producer.produce("stepsize.probes", key=None if key is None else key.encode(),
                         value=_probe(job_id, 5).SerializeToString())
    assert producer.flush(30) == 0

    deadline = time.monotonic() + 60
    missing = set(ids)
    while missing and time.monotonic() < deadline:
        missing = {j for j in missing if client.curvature(j).probes < 1}
        time.sleep(0.2)
    assert not missing, f"{len(missing)} of {JOBS} jobs got no estimate"
    for job_id in ids:
        curvature = client.curvature(job_id)
        assert curvature.probes == 1 and curvature.step == 5
        # the probe's tridiagonal [[3, .5], [.5, 1]]: its largest eigenvalue is 2 + sqrt(1.25)
        assert abs(curvature.lambda_max - (2 + 1.25 ** 0.5)) < 1e-9 * curvature.lambda_max

    consumer = Consumer({"bootstrap.servers": service.kafka_bootstrap, "group.id": f"dlq-check-{run}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe(["stepsize.probes.dlq"])
    dead = []
    idle_until = time.monotonic() + 5
    while time.monotonic() < idle_until:
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        report = pb.ProbeReport()
        try:
            report.ParseFromString(message.value())
        except Exception:  # noqa: BLE001 - other tests' garbage records are not ours
            continue
        if report.job_id in ids:
            dead.append((report.job_id, dict(message.headers() or [])))
    consumer.close()
    assert dead == []
