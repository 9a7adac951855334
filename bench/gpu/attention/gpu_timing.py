"""Timing helpers shared by the GPU benchmarks (METHOD.md: device events,
warm-up, median of many runs, inputs rotated so the L2 cache cannot hold
them)."""
import torch

# GPU cycles of the spin kernel queued ahead of each timed call (~0.3 ms):
# the host enqueues the call while the GPU spins, so the events bracket the
# device work alone and not the Python / launch cost of issuing it.
SLEEP_CYCLES = 500_000


def time_ms(fn, sets, reps=20, queued=True):
    """Median milliseconds of fn(sets[i % len(sets)]) after 3 warm-up calls.

    queued=True (default): device time of the call's kernels, as a CUDA
    graph or a busy stream would see it (the start event waits behind a
    spin kernel while the host enqueues the call). queued=False: the GPU is
    idle when the start event is recorded, so the host's time to issue the
    call (Python, ctypes, launch) is counted too."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for i in range(3):
        fn(sets[i % len(sets)])
    times = []
    for i in range(reps):
        if queued:
            torch.cuda._sleep(SLEEP_CYCLES)
        start.record()
        fn(sets[i % len(sets)])
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def copy_bandwidth_tb_s():
    """Device-to-device copy of 1 GiB: bytes read + written per second."""
    n = 1 << 28
    a, b = torch.empty(n, device="cuda"), torch.empty(n, device="cuda")
    ms = time_ms(lambda _: b.copy_(a), [0], 10)
    return 2 * n * 4 / ms / 1e9
