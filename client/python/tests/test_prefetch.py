"""RemoteSchedule's windows: a trainer that outruns the prefetch waits for it instead of asking
twice, so every window of the job is fetched exactly once."""
from conftest import java_csv
from stepsize.remote import RemoteSchedule
from stepsize.v1 import stepsize_pb2 as pb


class CountingClient:
    """The real client, counting the GetLearningRates calls (blocking and prefetch) by first step."""

    def __init__(self, client):
        self._client = client
        self.asked = []

    def learning_rates(self, job_id, from_step, count, timeout=None):
        self.asked.append(from_step)
        return self._client.learning_rates(job_id, from_step, count, timeout=timeout)

    def learning_rates_future(self, job_id, from_step, count, timeout=None):
        self.asked.append(from_step)
        return self._client.learning_rates_future(job_id, from_step, count, timeout=timeout)

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_a_trainer_that_outruns_the_prefetch_fetches_each_window_once(client):
    spec = pb.JobSpec(job_id="outrun", total_steps=1000, warmup_steps=10, lr_max=0.1, lr_min=0.001,
                      phi_policy=pb.PhiPolicy(fixed=pb.PhiPolicy.Fixed(phi=3.0)))
    counting = CountingClient(client)
    remote = RemoteSchedule(counting, spec, window=100, deadline=5.0)
    try:
        # a tight loop: no work between steps, so the 3/4 prefetch is still in flight at the window's end
        lrs = [remote.value(s).lr for s in range(1000)]
    finally:
        remote.close()
    assert sorted(counting.asked) == list(range(0, 1000, 100))
    assert remote.local_answers == 0
    java = java_csv(1000, 10, [], 0, 0.1, 0.001, 3.0)
    assert lrs == [r["lr"] for r in java]
