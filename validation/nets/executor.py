"""Where a panel's nets train: in this process, or on Dask distributed workers.

- **In this process** (``workers=0``): one compiled train-and-measure function per shape;
  nets streamed one at a time, or (``batched``) the seeds of a cell in one vmapped call,
  the batch sharded over every JAX device (several GPUs, or
  ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` on a CPU) along a one-axis mesh.
- **Dask distributed** (``workers=N``, or ``scheduler=ADDRESS``): every net is one task
  (:func:`run_distributed`); a ``LocalCluster`` of N worker processes on this machine,
  each single-threaded and pinned to a core of its own (:func:`local_cluster`; small
  matrix products scale badly over threads: two pinned single-threaded processes train
  more nets per second on 2 cores than one process with two threads, benchmarks/sweep.py),
  or an existing cluster (``dask-jobqueue`` on SLURM or PBS, docs/scaling.md). Workers
  write every finished net atomically into the results store, which must be on a file
  system they share with the client; a killed worker loses only the nets in flight (Dask
  reruns its tasks, and recomputes the data task if it held the data), a killed client
  loses nothing finished (rerunning resumes).

Every net's numbers depend only on its spec, data and seed, not on where or with whom it
ran, as long as the floating-point reductions run the same way: nets trained by single-
threaded workers are bitwise those of a single-threaded run (tested with 1 and 2 workers
and with a worker killed mid-run); in-process vmapped groups sharded over devices agree
with one device up to float32 summation order (XLA tiles batched products by the batch
size each device gets; tested with 4 host devices).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from springblock.params import ParameterError, check_int

#: XLA flags of a single-threaded CPU process (the Dask workers').
SINGLE_THREAD_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def xla_flags_with(*flags: str) -> str:
    """This process's ``XLA_FLAGS`` followed by ``flags``: the value for a child process
    that must keep the flags the user set (e.g. an optimisation level) and add its own."""
    return " ".join([os.environ.get("XLA_FLAGS", ""), *flags]).strip()


def worker_xla_flags() -> str:
    """The local Dask workers' ``XLA_FLAGS``: this process's, then the single-thread ones."""
    return xla_flags_with(SINGLE_THREAD_FLAGS)


#: Below this many nets to train, a local cluster's start-up and per-worker compilation
#: cost about what the workers save. Measured on 2 cores (FashionMNIST, 60-net panels of
#: 50 epochs): 94 s on 2 workers, 93 s in one process; 12 nets: 32 s against 27 s. Only
#: whole paper panels (480-540 nets) amortise the cluster (benchmarks/sweep.py).
MIN_NETS_FOR_WORKERS = 200


@dataclass(frozen=True)
class Execution:
    """How to run a sweep's nets (not what they compute: no part of the results' digest).

    ``workers``: None picks (:func:`resolve`): a local cluster of one single-threaded worker
    per CPU core when there are at least :data:`MIN_NETS_FOR_WORKERS` nets to train on a
    machine with several cores, else this process; 0 this process; N >= 1 a local cluster
    of N workers. ``scheduler``: the address of an existing Dask scheduler
    (``tcp://host:8786``) or a scheduler file, instead of a local cluster. ``batched``
    (in this process only): the seeds of a cell in one vmapped call.
    """

    workers: int | None = None
    scheduler: str | None = None
    batched: bool = False

    def __post_init__(self):
        if self.workers is not None:
            check_int("workers", self.workers, 0, 1024)
        if self.scheduler is not None:
            text = str(self.scheduler)
            if not (("://" in text and len(text.split("://", 1)[1]) > 0) or Path(text).is_file()):
                raise ParameterError(
                    "scheduler",
                    text,
                    "a scheduler address like tcp://host:8786, or a scheduler file",
                )
            if self.workers not in (None, 0) and self.workers > 0:
                raise ParameterError("workers", self.workers, "not given with --scheduler")
        if self.batched and (self.scheduler is not None or (self.workers or 0) > 0):
            raise ParameterError("batched", True, "only with --workers 0 (in this process)")

    def resolve(self, nets_to_train: int) -> int:
        """Workers to start: 0 means this process (and with ``scheduler``, unused)."""
        if self.scheduler is not None:
            return 0
        if self.workers is not None:
            return self.workers
        if self.batched:
            return 0
        cores = os.cpu_count() or 1
        return cores if cores > 1 and nets_to_train >= MIN_NETS_FOR_WORKERS else 0

    def distributed(self, nets_to_train: int) -> bool:
        return self.scheduler is not None or self.resolve(nets_to_train) > 0


def pin_to_one_core(index: int) -> int | None:
    """Restrict every thread of this process to one CPU core, the ``index``-th (cyclically)
    of those the process may run on; returns the core (None where the OS has no affinity
    call). Threads created later (XLA's pool, if JAX starts after this) inherit it.

    XLA's CPU client keeps a pool of one thread per core whatever ``XLA_FLAGS`` say, and
    the thunk runtime hands work to it: unpinned, two "single-threaded" workers run six
    busy threads on 2 cores, and each net took 1.5x as long as on a worker pinned to its
    own core (measured, benchmarks/sweep.py). JAX sizes that pool from the process's
    affinity, so a worker pinned before its first computation starts one thread."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    core = cores[index % len(cores)]
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), {core})
        except OSError:  # a thread that ended meanwhile
            pass
    return core


#: Set in the environment of :func:`local_cluster`'s workers: pin each to a core.
PIN_ENV = "SPRINGBLOCK_PIN_WORKER_TO_CORE"


def dask_setup(worker) -> None:
    """Dask's preload hook, run as a worker of :func:`local_cluster` starts (this module is
    its ``preload``), before JAX starts in it: worker i is pinned to core i
    (:func:`pin_to_one_core`). Pinned this early, JAX sizes its pool for one core; pinned
    once JAX had started, nets took ~10 % longer (measured). Workers of other clusters
    are left where their cluster placed them."""
    if os.environ.get(PIN_ENV) == "1":
        pin_to_one_core(worker.name if isinstance(worker.name, int) else 0)


def _panel_data(data):
    """On a worker: the panel's data, which the task graph carries (see
    :func:`run_distributed`)."""
    return data


def _train_task(spec, data, job, nets_dir: str, x64: bool) -> None:
    """On a worker: train and measure the net ``job``, write its record atomically."""
    import jax

    from springblock import results
    from springblock.validation.nets import sweep

    jax.config.update("jax_enable_x64", x64)
    ((_, rec),) = sweep.train_jobs(spec, data, [job])
    results.write_json(Path(nets_dir) / f"{job.name(spec.knob)}.json", rec)


#: Dask settings of the local workers. The nanny's default pre-spawn environment sets
#: MALLOC_TRIM_THRESHOLD_, which turns off glibc's adaptive mmap threshold: every buffer
#: XLA allocates for a step (a megabyte per activation) was then mapped and unmapped
#: afresh, half the worker's CPU time went to the kernel, and a net took ~1.4x as long
#: as in a bare process. The nanny also writes its pre-spawn environment into the process
#: it runs in, which for a LocalCluster is ours: the thread caps it sets there stayed
#: after the cluster closed, and a PyTorch process started from ours beside an idle cluster
#: trained up to ~1.45x slower (benchmarks/sweep.py's baseline; PyTorch's own spread here is
#: wide, so not all of that is the caps). So the pre-spawn environment is empty and the
#: caps travel in the workers' own environment (:data:`THREAD_CAPS`). The worker's
#: statistical profiler (a stack sample of every thread each 10 ms) and the GIL monitor
#: (every 1 ms) would share the core a pinned worker trains on. Workers of other
#: clusters: see docs/scaling.md.
WORKER_CONFIG = {
    "distributed.nanny.pre-spawn-environ": {},
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.gil.enabled": False,
}

#: Set in each local worker's environment (the nanny's ``env``, applied in the worker as it
#: starts): one thread for the BLAS and OpenMP pools a worker pinned to one core loads
#: after that, among them scipy's OpenBLAS, which XLA's LAPACK calls (the SVDs of the
#: measurement) use. numpy's own OpenBLAS is loaded before and keeps a pool per core; a
#: net's work never calls it (its products run in XLA).
THREAD_CAPS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def local_cluster(workers: int):
    """A ``dask.distributed.LocalCluster`` of ``workers`` single-threaded processes on this
    machine (:func:`worker_xla_flags`), each pinned to its own core as it starts
    (:func:`dask_setup`) and with :data:`WORKER_CONFIG`, the one ``--workers N`` starts.
    Our own process's environment is left as it was."""
    import dask
    from dask.distributed import LocalCluster

    with dask.config.set(WORKER_CONFIG):  # the nannies hand their config to the workers
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env={"XLA_FLAGS": worker_xla_flags(), PIN_ENV: "1", **THREAD_CAPS},
            preload=[__name__],
        )


def run_distributed(
    spec,
    data,
    todo: list,
    nets_dir: Path,
    execution: Execution,
    progress: Callable[[int], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> None:
    """Train ``todo`` on Dask workers, one task per net; ``progress(1)`` as each finishes.

    One net per task, not one cell: a worker compiles a shape once whatever the number of
    tasks, and cells of unequal cost (a batch-5 cell of the batch-size panel trains ~7x
    as long as a full-batch one) no longer leave a worker idle while the other finishes a
    whole cell. Dask's per-task cost is milliseconds against seconds per net."""
    import jax
    from dask.distributed import Client, as_completed

    cluster = None
    if execution.scheduler is not None:
        address = execution.scheduler
        client = Client(scheduler_file=address) if Path(address).is_file() else Client(address)
    else:
        cluster = local_cluster(execution.resolve(len(todo)))
        client = Client(cluster)
    try:
        if log is not None:
            n = len(client.scheduler_info()["workers"])
            log(f"[{spec.knob} panel] training {len(todo)} nets on {n} Dask workers")
        # The data go to the workers as the result of a task, not scattered: a task's
        # result is recomputed when the workers holding it die, scattered data are lost
        # (Dask's memory manager keeps one replica of them, and killing that worker
        # cancelled every net still to train).
        shared = client.submit(_panel_data, data, key=f"dataset-{uuid.uuid4().hex}")
        x64 = bool(jax.config.jax_enable_x64)  # type: ignore[attr-defined]
        futures = [
            client.submit(_train_task, spec, shared, job, str(nets_dir), x64, pure=False)
            for job in todo
        ]
        for future in as_completed(futures):
            future.result()  # a failed net raises here
            if progress is not None:
                progress(1)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def shard_over_devices(arrays):
    """Place arrays with a leading batch axis on every JAX device along a one-axis mesh
    (the batch must divide the device count); one device: unchanged."""
    import jax
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    devices = jax.devices()
    if len(devices) == 1:
        return arrays
    mesh = Mesh(np.array(devices), ("nets",))
    sharding = NamedSharding(mesh, PartitionSpec("nets"))
    return jax.tree.map(lambda a: jax.device_put(a, sharding), arrays)
