"""Where nets train does not change what they compute: Dask workers (1 vs 2, a worker
killed mid-run) give bitwise the same nets, device sharding (4 host devices vs 1) the same
nets up to float32 summation order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from springblock.validation.nets import sweep
from springblock.validation.nets.executor import (
    THREAD_CAPS,
    Execution,
    local_cluster,
    xla_flags_with,
)
from tests.toy import write_toy_npz

FIELDS = ("separation_pinv", "test_accuracy", "losses", "weight_change", "status")


@pytest.fixture(scope="module")
def toy_file(tmp_path_factory):
    return write_toy_npz(tmp_path_factory.mktemp("data") / "toy.npz")


def spec_of(path):
    return sweep.SweepSpec(
        dataset=str(path),
        alphas=(0.0, 1.0),
        values=(0.0, 0.3),
        seeds=2,
        epochs=4,
        depth=3,
        width=8,
    )


def same(a, b):
    for name in FIELDS:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


@pytest.fixture(scope="module")
def one_worker(toy_file, tmp_path_factory):
    """The toy panel trained by one single-threaded Dask worker: the reference."""
    spec = spec_of(toy_file)
    return sweep.run(spec, tmp_path_factory.mktemp("one"), execution=Execution(workers=1))


def test_one_and_two_workers_give_bitwise_the_same_nets(toy_file, one_worker, tmp_path):
    two = sweep.run(spec_of(toy_file), tmp_path / "two", execution=Execution(workers=2))
    assert sweep.is_complete(one_worker) and sweep.is_complete(two)
    same(one_worker, two)


def test_a_killed_worker_loses_only_nets_in_flight(toy_file, one_worker, tmp_path, monkeypatch):
    """An existing cluster (--scheduler); as soon as the first net is stored, every worker
    holding the panel's data is killed (with scattered data this lost it for good: Dask's
    memory manager keeps one replica, and every net still to train was cancelled). Their
    tasks run again on the respawned workers: the sweep completes with the same nets. The
    workers run with one-thread BLAS pools and without Dask's MALLOC_TRIM_THRESHOLD_; our
    own process's environment stays as it was, also after the nanny respawned the killed
    workers (Dask's pre-spawn environment would be written into it)."""
    from dask.distributed import Client

    spec = spec_of(toy_file)
    watched = (*THREAD_CAPS, "MALLOC_TRIM_THRESHOLD_")
    for name in watched:  # whatever an earlier cluster in this process left
        monkeypatch.delenv(name, raising=False)
    cluster = local_cluster(2)
    client = Client(cluster)
    pids = client.run(os.getpid)
    # each local worker is pinned to a core of its own as it starts (dask_setup)
    cores = sorted(os.sched_getaffinity(0))
    pinned = sorted(client.run(lambda: sorted(os.sched_getaffinity(0))).values())
    assert pinned == sorted([[cores[i % len(cores)]] for i in range(2)])
    environments = client.run(lambda: {k: os.environ.get(k) for k in watched})
    assert all(e == THREAD_CAPS | {"MALLOC_TRIM_THRESHOLD_": None} for e in environments.values())
    killed = []
    done = threading.Event()

    def holders_of_the_data():
        return {
            address
            for key, addresses in client.who_has().items()
            if "dataset" in str(key).lower()
            for address in addresses
        }

    def kill_the_holders():
        # watches for as long as the sweep runs (no fixed deadline: a loaded machine may
        # take minutes to compile the first net)
        while not done.is_set() and not killed:
            if any((tmp_path / "killed").rglob("nets/*.json")):
                holders = holders_of_the_data()
                for address in holders:
                    os.kill(pids[address], 9)
                killed.extend(holders)
            time.sleep(0.02)

    watcher = threading.Thread(target=kill_the_holders)
    watcher.start()
    try:
        result = sweep.run(
            spec, tmp_path / "killed", execution=Execution(scheduler=cluster.scheduler_address)
        )
    finally:
        done.set()
        watcher.join()
        client.close()
        cluster.close()
    assert killed, "the workers holding the data should have been killed mid-sweep"
    assert not any(name in os.environ for name in watched), "a nanny wrote into our environment"
    assert sweep.is_complete(result)
    same(one_worker, result)


PIN = """
import os, sys, threading
from springblock.validation.nets.executor import pin_to_one_core
alive = threading.Event()
threading.Thread(target=alive.wait).start()  # a second thread, running while pinned
cores = sorted(os.sched_getaffinity(0))
core = pin_to_one_core(int(sys.argv[1]))
print(core == cores[int(sys.argv[1]) % len(cores)],
      all(os.sched_getaffinity(int(t)) == {core} for t in os.listdir("/proc/self/task")),
      [sorted(os.sched_getaffinity(0))] == [[core]])
alive.set()
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this OS")
def test_pinning_restricts_every_thread_to_one_core():
    """In a child process (pinning the test process would slow the rest of the suite):
    the index-th core, cyclically, for every thread."""
    for index in (0, 3):
        out = subprocess.run(
            [sys.executable, "-c", PIN, str(index)], capture_output=True, text=True
        )
        assert out.stdout.split() == ["True", "True", "True"], out.stderr


SHARDED = """
import json, sys
import numpy as np
from springblock.validation.nets import sweep
from springblock.validation.nets.executor import Execution
spec = sweep.SweepSpec(dataset=sys.argv[1], alphas=(0.0, 1.0), values=(0.0, 0.3), seeds=2,
                       epochs=4, depth=3, width=8, data_seed=0)
ds = sweep.run(spec, sys.argv[2], execution=Execution(workers=0, batched=True))
import jax
print(json.dumps({"devices": jax.device_count(),
                  "pinv": np.asarray(ds["separation_pinv"]).tolist(),
                  "losses": np.nan_to_num(np.asarray(ds["losses"]), nan=-1).tolist()}))
"""


def test_four_host_devices_shard_the_batched_nets(toy_file, tmp_path):
    """The vmapped seeds of a cell, sharded over 4 host devices, give the nets of one
    device. Not bitwise: each device's batch is smaller, and XLA tiles batched products by
    batch size, a float32 summation-order difference that Adam's normalised steps amplify
    (measured up to 1e-3 relative on D after 4 epochs); bound 1e-2, as for batched vs
    streamed training (tests/nets/test_sweep.py)."""
    import jax

    assert jax.device_count() == 1  # this process: one device, the reference
    one = sweep.run(
        spec_of(toy_file), tmp_path / "d1", execution=Execution(workers=0, batched=True)
    )
    env = dict(os.environ, XLA_FLAGS=xla_flags_with("--xla_force_host_platform_device_count=4"))
    proc = subprocess.run(
        [sys.executable, "-c", SHARDED, str(toy_file), str(tmp_path / "d4")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    four = json.loads(proc.stdout.strip().splitlines()[-1])
    assert four["devices"] == 4
    pinv = np.asarray(one["separation_pinv"])
    losses = np.nan_to_num(np.asarray(one["losses"]), nan=-1)
    np.testing.assert_allclose(pinv, four["pinv"], rtol=1e-2, atol=1e-2)
    np.testing.assert_allclose(losses, four["losses"], rtol=1e-2)


def test_execution_is_validated():
    from springblock.params import ParameterError

    for bad in ({"workers": -1}, {"scheduler": "nowhere"}, {"batched": True, "workers": 2}):
        with pytest.raises(ParameterError):
            Execution(**bad)
    assert Execution().resolve(3) == 0  # a few nets: in this process
    assert Execution(workers=0).resolve(1000) == 0
    from springblock.validation.nets.executor import MIN_NETS_FOR_WORKERS

    cores = os.cpu_count() or 1
    below, at = (
        Execution().resolve(MIN_NETS_FOR_WORKERS - 1),
        Execution().resolve(MIN_NETS_FOR_WORKERS),
    )
    assert below == 0 and at == (cores if cores > 1 else 0)
