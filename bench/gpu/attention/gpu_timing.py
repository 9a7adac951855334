"""Timing helpers shared by the GPU benchmarks (METHOD.md: device events,
warm-up, median of many runs, inputs rotated so the L2 cache cannot hold
them)."""
import torch


def time_ms(fn, sets, reps=20):
    """Median milliseconds of fn(sets[i % len(sets)]) after 3 warm-up calls."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for i in range(3):
        fn(sets[i % len(sets)])
    times = []
    for i in range(reps):
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
