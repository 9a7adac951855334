"""Peak resident memory of a command.

    from peak_rss import run_with_peak_rss
    code, output, peak_bytes = run_with_peak_rss(["tessel-run", ...])

A child spawned from Python inherits Python's own peak in ru_maxrss (Linux
keeps the high-water mark across exec), so the peak is measured through
GNU time (`/usr/bin/time -f %M`, whose forked child starts from time's tiny
footprint) when it is installed, and otherwise by polling the child's
/proc/PID/status VmHWM (a high-water mark: commands that reach their peak
more than once, e.g. `tessel-run --bench N`, are measured exactly).
"""

import os
import subprocess
import tempfile
import threading
import time

GNU_TIME = "/usr/bin/time"


def _vm_hwm(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_with_peak_rss(cmd, env=None):
    """Runs `cmd`; returns (exit code, stdout+stderr, peak RSS in bytes)."""
    if os.path.exists(GNU_TIME):
        with tempfile.NamedTemporaryFile("r", suffix=".rss") as report:
            r = subprocess.run([GNU_TIME, "-f", "%M", "-o", report.name, *cmd],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=env,
                               universal_newlines=True)
            text = report.read().strip().splitlines()
            try:
                peak = int(text[-1]) * 1024
            except (IndexError, ValueError):
                peak = 0
            return r.returncode, r.stdout, peak
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env,
                            universal_newlines=True)
    peak = [0]

    def poll():
        while proc.poll() is None:
            peak[0] = max(peak[0], _vm_hwm(proc.pid))
            time.sleep(0.002)

    watcher = threading.Thread(target=poll)
    watcher.start()
    out = proc.stdout.read()
    proc.wait()
    watcher.join()
    return proc.returncode, out, peak[0]
