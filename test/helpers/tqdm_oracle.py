"""Oracle for test/unit/tqdmFormat.test.ts: runs the REAL tqdm.

Reads one JSON request on stdin, writes one JSON answer on stdout.

  {"mode": "format_meter", "cases": [{kwargs for tqdm.format_meter}, ...]}
    -> {"version": ..., "results": [str | {"error": str}, ...]}

  {"mode": "pow", "pairs": [[float, int], ...]} -> {"results": [base ** k, ...]}

  {"mode": "bar_life", "scenarios": [[op, ...], ...]}
    -> {"version": ..., "results": [[every non-empty string written, ...], ...]}

Ops (the clock is fake; tqdm.std's module-level `time` is replaced, which is
what each bar copies into `self._time` at construction):
  {"op": "time", "t": float}                     set the clock
  {"op": "new", "id": str, "pausable": bool, "kwargs": {...}}
  {"op": "postfix", "id": str, "s": str}          set_postfix_str(s)
  {"op": "update", "id": str, "n": int}
  {"op": "pause" | "unpause" | "close" | "refresh", "id": str}
  {"op": "iter", "kwargs": {...}, "count": int, "dt": float}
      for _ in tqdm(range(count), **kwargs): clock += dt
"""
import gc
import json
import os
import sys

import tqdm as tqdm_module
import tqdm.std as tqdm_std
from tqdm import tqdm

tqdm.monitor_interval = 0  # no monitor thread: it would read the real clock

CLOCK = [0.0]
tqdm_std.time = lambda: CLOCK[0]


class Recorder(object):
    """A file that remembers each write.

    It says it is UTF-8 like the UI's log fd, so `ascii=None` means unicode
    blocks (ai-toolkit's `--log` Logger has no `encoding` and gets ASCII bars:
    pass ascii=True for that).
    """

    encoding = 'utf-8'

    def __init__(self):
        self.writes = []

    def write(self, s):
        self.writes.append(s)

    def flush(self):
        pass


# ai-toolkit's pausable bar, the same one the simulated trainer uses.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim"))
from toolkit_bar import ToolkitProgressBar as PausableBar  # noqa: E402


def format_meter_cases(cases):
    out = []
    for kwargs in cases:
        try:
            out.append(tqdm.format_meter(**kwargs))
        except Exception as e:  # report, do not abort the batch
            out.append({"error": "%s: %s" % (type(e).__name__, e)})
    return out


def run_scenario(ops):
    f = Recorder()
    bars = {}
    for op in ops:
        kind = op["op"]
        if kind == "time":
            CLOCK[0] = op["t"]
        elif kind == "new":
            cls = PausableBar if op.get("pausable") else tqdm
            bars[op["id"]] = cls(file=f, **op.get("kwargs", {}))
        elif kind == "postfix":
            bars[op["id"]].set_postfix_str(op["s"])
        elif kind == "update":
            bars[op["id"]].update(op["n"])
        elif kind == "pause":
            bars[op["id"]].pause()
        elif kind == "unpause":
            bars[op["id"]].unpause()
        elif kind == "refresh":
            bars[op["id"]].refresh()
        elif kind == "close":
            bars[op["id"]].close()
        elif kind == "iter":
            for _ in tqdm(range(op["count"]), file=f, **op.get("kwargs", {})):
                CLOCK[0] += op["dt"]
        else:
            raise ValueError("unknown op %r" % (kind,))
    for bar in bars.values():
        bar.close()
    bars.clear()
    gc.collect()
    return [w for w in f.writes if w]


def main():
    request = json.load(sys.stdin)
    mode = request["mode"]
    if mode == "format_meter":
        results = format_meter_cases(request["cases"])
    elif mode == "pow":  # float ** int, as tqdm's EMA computes beta ** calls
        results = [base ** k for base, k in request["pairs"]]
    elif mode == "bar_life":
        results = [run_scenario(ops) for ops in request["scenarios"]]
    else:
        raise ValueError("unknown mode %r" % (mode,))
    json.dump({"version": tqdm_module.__version__, "results": results}, sys.stdout, ensure_ascii=True)


if __name__ == "__main__":
    main()
