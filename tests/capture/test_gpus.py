"""A run asking for more GPUs than the machine has fails at once with the reason (no wait forever)."""

from trialwise.runner import LocalBackend, Observer, Task


def test_more_gpus_than_exist_fails_the_run_with_the_reason(tmp_path):
    backend = LocalBackend(jobs=1, gpus=["0", "1"])
    task = Task("r1", 0, ["true"], tmp_path, {}, tmp_path / "run", gpus=3)
    (res,) = backend.run([task], Observer())  # before: blocked on the GPU queue forever
    assert res.status == "failed" and "asks for 3 GPUs" in res.error and "has 2" in res.error
