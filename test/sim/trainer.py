#!/usr/bin/python3
"""Simulated ai-toolkit trainer (``run.py``) for lora-top's tests.

It trains nothing. It prints what ai-toolkit prints, writes the files it
writes (checkpoints, optimizer.pt, samples, loss_log.db, config.yaml) and
talks to the UI's Job table the way DiffusionTrainer does, on a compressed
time scale. Behaviour follows ostris/ai-toolkit at 27a03a9 (2026-08-21);
see test/sim/README.md for the options and the older behaviours it can
reproduce.

Runs with Debian's /usr/bin/python3: standard library + python3-tqdm +
python3-pil only.
"""

import os
import sys


def _settle_buffering():
    """Run under PYTHONUNBUFFERED=1 like the UI does (or, with
    --buffered-stdout, without it, like a redirected CLI run without -u).
    Re-executes the interpreter once when the current mode is wrong; the pid
    stays the same."""
    want_buffered = "--buffered-stdout" in sys.argv[1:]
    # -u and PYTHONUNBUFFERED both make the text layer write through
    unbuffered_now = bool(getattr(sys.stdout, "write_through", False))
    if want_buffered != unbuffered_now or os.environ.get("_LORA_TOP_SIM_REEXEC"):
        return
    env = dict(os.environ)
    env["_LORA_TOP_SIM_REEXEC"] = "1"
    if want_buffered:
        env.pop("PYTHONUNBUFFERED", None)
    else:
        env["PYTHONUNBUFFERED"] = "1"
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


if __name__ == "__main__":
    _settle_buffering()

import argparse
import glob
import json
import math
import random
import re
import signal
import sqlite3
import struct
import time
from collections import OrderedDict, deque

from tqdm import tqdm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from toolkit_bar import ToolkitProgressBar  # noqa: E402
from PIL import Image, ImageDraw

# Filled in by main() from the command line.
SIM = argparse.Namespace()

# toolkit/timer.py reads this once, at import time.
IS_UI_ENV = os.environ.get("IS_AI_TOOLKIT_UI", "0") == "1"

SIM_VERSION = "0.12.26"  # version.py at the imitated commit


def print_acc(*args, **kwargs):
    """ai-toolkit's print_acc: a plain print on the main process."""
    print(*args, **kwargs)


def make_bar(*args, **kwargs):
    """A plain tqdm bar; --ascii forces ASCII cells like the old --log Logger."""
    if SIM.ascii:
        kwargs["ascii"] = True
    return tqdm(*args, **kwargs)


def sim_sleep(seconds):
    if seconds and seconds > 0:
        time.sleep(seconds)


# ---------------------------------------------------------------------------
# torch look-alike errors (the traceback's last line reads torch.OutOfMemoryError)
# ---------------------------------------------------------------------------


class OutOfMemoryError(RuntimeError):
    pass


OutOfMemoryError.__module__ = "torch"


def cuda_oom_message():
    return (
        "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 23.55 GiB "
        "of which 1.17 GiB is free. Including non-PyTorch memory, this process has 22.36 GiB memory "
        "in use. Of the allocated memory 21.61 GiB is allocated by PyTorch, and 312.45 MiB is reserved "
        "by PyTorch but unallocated. If reserved but unallocated memory is large try setting "
        "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.  See documentation "
        "for Memory Management  (https://pytorch.org/docs/stable/notes/cuda.html#environment-variables)"
    )


# ---------------------------------------------------------------------------
# Training progress bar (toolkit/progress_bar.py semantics)
# ---------------------------------------------------------------------------


class SimProgressBar(ToolkitProgressBar):
    """The training bar with the simulator's options: smoothing, --old-bar, --ascii."""

    def __init__(self, *args, **kwargs):
        if SIM.smoothing is not None:
            kwargs.setdefault("smoothing", SIM.smoothing)
        elif SIM.old_bar:
            kwargs.setdefault("smoothing", 0.3)  # tqdm's default, before 2026-08-21
        if SIM.ascii:
            kwargs["ascii"] = True
        super().__init__(*args, **kwargs)


# ---------------------------------------------------------------------------
# Streams: PYTHONUNBUFFERED, run.py --log, the old doubled-stderr Logger
# ---------------------------------------------------------------------------


class TeeLogger:
    """run.py --log (HEAD): write to the terminal stream and to the shared log
    file, flushing the file after each write. Deliberately has no ``encoding``
    attribute, which makes tqdm fall back to ASCII bars."""

    def __init__(self, terminal, log_file):
        self.terminal = terminal
        self.log = log_file

    def write(self, message):
        self.terminal.write(message)
        self.log.write(message)
        self.log.flush()

    def flush(self):
        self.terminal.flush()
        self.log.flush()

    def isatty(self):
        return self.terminal.isatty()


class OldTeeLogger(TeeLogger):
    """run.py --log before 2026-07-16: each Logger opened the file itself and
    used the *current* sys.stdout as its terminal. The stderr Logger was built
    after sys.stdout had been replaced, so every stderr write reached the file
    twice (once through the stdout Logger, once directly)."""

    def __init__(self, filename):
        super().__init__(sys.stdout, open(filename, "a"))


class DoublingWriter:
    """--doubled-stderr without --log: every write is written twice to the
    wrapped stream (what a capture of the old --log file looked like). No
    ``encoding`` attribute either, so tqdm uses ASCII bars as it did then."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, message):
        self.stream.write(message)
        self.stream.write(message)

    def flush(self):
        self.stream.flush()

    def isatty(self):
        return self.stream.isatty()


def setup_streams(args):
    # PYTHONUNBUFFERED / --buffered-stdout were settled by the re-exec at the
    # top of this file, so the interpreter's own streams are used as they are.
    if args.log is not None:
        parent = os.path.dirname(args.log)
        # (the real setup_log_to_file calls os.makedirs('') and crashes when the
        # path has no directory part; the simulator skips that)
        if parent and not os.path.exists(parent):
            os.makedirs(parent)
        if args.doubled_stderr:
            sys.stdout = OldTeeLogger(args.log)
            sys.stderr = OldTeeLogger(args.log)
        else:
            log_file = open(args.log, "a")
            sys.stdout = TeeLogger(sys.stdout, log_file)
            sys.stderr = TeeLogger(sys.stderr, log_file)
    elif args.doubled_stderr:
        sys.stderr = DoublingWriter(sys.stderr)


# ---------------------------------------------------------------------------
# config.yaml (oyaml-style block YAML, insertion order)
# ---------------------------------------------------------------------------

_YAML_PLAIN = re.compile(r"^[A-Za-z0-9_./()\[\]][A-Za-z0-9_ ./()\[\]<>=+@,-]*$")
_YAML_SPECIAL = re.compile(
    r"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N"
    r"|[-+]?(?:\d[\d_]*)?\.?\d*(?:[eE][-+]?\d+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|0x[0-9a-fA-F]+|0o[0-7]+"
    r"|\d+(?::\d+)+.*)$"
)


def _yaml_scalar(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = mantissa + ".0e" + exponent  # PyYAML writes 1e-05 as 1.0e-05
        return text
    text = str(value)
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return json.dumps(text)  # double-quoted JSON string is valid YAML
    if text and _YAML_PLAIN.match(text) and not _YAML_SPECIAL.match(text) and not text.endswith(" ") \
            and not text.startswith("[") and not text.startswith("- ") and text != "-":
        return text
    return "'" + text.replace("'", "''") + "'"


def _yaml_lines(value, indent):
    pad = "  " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            key_text = _yaml_scalar(str(key))
            if isinstance(item, dict) and item:
                lines.append(f"{pad}{key_text}:")
                lines.extend(_yaml_lines(item, indent + 1))
            elif isinstance(item, list) and item:
                lines.append(f"{pad}{key_text}:")
                lines.extend(_yaml_lines(item, indent))  # PyYAML does not indent list items
            else:
                lines.append(f"{pad}{key_text}: {_yaml_inline(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                sub = _yaml_lines(item, indent + 1)
                first = sub[0][len("  " * (indent + 1)):]
                lines.append(f"{pad}- {first}")
                lines.extend(sub[1:])
            elif isinstance(item, list) and item:
                sub = _yaml_lines(item, indent + 1)
                first = sub[0][len("  " * (indent + 1)):]
                lines.append(f"{pad}- {first}")
                lines.extend(sub[1:])
            else:
                lines.append(f"{pad}- {_yaml_inline(item)}")
    else:
        lines.append(pad + _yaml_scalar(value))
    return lines


def _yaml_inline(value):
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _yaml_scalar(value)


def dump_yaml(value):
    return "\n".join(_yaml_lines(value, 0)) + "\n"


# ---------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------


def write_safetensors(path, tensors, metadata):
    """tensors: name -> (dtype, shape, raw bytes); metadata: str -> str."""
    header = OrderedDict()
    header["__metadata__"] = metadata
    data = bytearray()
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * ((8 - len(header_bytes) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        f.write(bytes(data))


def read_safetensors_metadata(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length).decode("utf-8"))
    meta = header.get("__metadata__", {}) or {}
    parsed = OrderedDict()
    for key, value in meta.items():
        try:
            parsed[key] = json.loads(value)
        except (TypeError, ValueError):
            parsed[key] = value
    return parsed


def _f16_bytes(values):
    return b"".join(struct.pack("<e", v) for v in values)


# ---------------------------------------------------------------------------
# loss_log.db (toolkit/logging_aitk.py UILogger semantics)
# ---------------------------------------------------------------------------


class UILogger:
    def __init__(self, log_file, flush_every_n=256, flush_every_secs=0.25):
        self.log_file = log_file
        self.flush_every_n = flush_every_n
        self.flush_every_secs = flush_every_secs
        self.con = None
        self.started = False
        self.to_commit = OrderedDict()
        self.step_counter = 0
        self.pending_steps = []
        self.pending_metrics = []
        self.pending_key_range = OrderedDict()
        self.last_flush = time.time()
        self.first_commit_done = False

    def start(self):
        if self.started:
            return
        parent = os.path.dirname(os.path.abspath(self.log_file))
        os.makedirs(parent, exist_ok=True)
        self.con = sqlite3.connect(self.log_file, timeout=30.0, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "temp_store=MEMORY",
                       "foreign_keys=ON", "busy_timeout=30000"):
            self.con.execute(f"PRAGMA {pragma};")
        self.con.execute("BEGIN;")
        self.con.execute("CREATE TABLE IF NOT EXISTS steps (step INTEGER PRIMARY KEY, wall_time REAL NOT NULL);")
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS metric_keys (key TEXT PRIMARY KEY, first_seen_step INTEGER, "
            "last_seen_step INTEGER);"
        )
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS metrics (step INTEGER NOT NULL, key TEXT NOT NULL, value_real REAL, "
            "value_text TEXT, PRIMARY KEY (step, key), "
            "FOREIGN KEY (step) REFERENCES steps(step) ON DELETE CASCADE);"
        )
        self.con.execute("CREATE INDEX IF NOT EXISTS idx_metrics_key_step ON metrics (key, step);")
        self.con.execute("COMMIT;")
        self.started = True
        self.last_flush = time.time()

    def log(self, values):
        self.to_commit.update(values)

    def commit(self, step=None):
        if not self.started:
            self.start()
        if not self.to_commit:
            return
        if step is None:
            step = self.step_counter
            self.step_counter += 1
        else:
            step = int(step)
            self.step_counter = max(self.step_counter, step + 1)
        if not self.first_commit_done:
            # the first commit that carries data drops rows of an earlier run past this step
            self._prune_after(step)
            self.first_commit_done = True
        self.pending_steps.append((step, time.time()))
        for key, value in self.to_commit.items():
            real, text = self._coerce(value)
            self.pending_metrics.append((step, str(key), real, text))
            lo, hi = self.pending_key_range.get(key, (step, step))
            self.pending_key_range[key] = (min(lo, step), max(hi, step))
        self.to_commit = OrderedDict()
        if len(self.pending_metrics) >= self.flush_every_n or time.time() - self.last_flush >= self.flush_every_secs:
            self.flush()

    @staticmethod
    def _coerce(value):
        if value is None:
            return None, None
        if isinstance(value, bool):
            return float(int(value)), None
        try:
            return float(value), None
        except (TypeError, ValueError):
            return None, str(value)

    def _prune_after(self, step):
        con = self.con
        con.execute("BEGIN;")
        con.execute("DELETE FROM steps WHERE step > ?;", (step,))
        con.execute("DELETE FROM metric_keys WHERE NOT EXISTS "
                    "(SELECT 1 FROM metrics WHERE metrics.key = metric_keys.key);")
        con.execute("UPDATE metric_keys SET last_seen_step = "
                    "(SELECT MAX(step) FROM metrics WHERE metrics.key = metric_keys.key) "
                    "WHERE last_seen_step > ?;", (step,))
        con.execute("COMMIT;")

    def flush(self):
        if not self.pending_steps and not self.pending_metrics:
            return
        con = self.con
        con.execute("BEGIN;")
        con.executemany(
            "INSERT INTO steps(step, wall_time) VALUES(?, ?) "
            "ON CONFLICT(step) DO UPDATE SET wall_time=excluded.wall_time;",
            self.pending_steps,
        )
        con.executemany(
            "INSERT INTO metric_keys(key, first_seen_step, last_seen_step) VALUES(?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET "
            "first_seen_step=MIN(metric_keys.first_seen_step, excluded.first_seen_step), "
            "last_seen_step=MAX(metric_keys.last_seen_step, excluded.last_seen_step);",
            [(k, lo, hi) for k, (lo, hi) in self.pending_key_range.items()],
        )
        con.executemany(
            "INSERT INTO metrics(step, key, value_real, value_text) VALUES(?, ?, ?, ?) "
            "ON CONFLICT(step, key) DO UPDATE SET value_real=excluded.value_real, value_text=excluded.value_text;",
            self.pending_metrics,
        )
        con.execute("COMMIT;")
        self.pending_steps = []
        self.pending_metrics = []
        self.pending_key_range = OrderedDict()
        self.last_flush = time.time()

    def finish(self):
        if not self.started:
            return
        self.flush()
        self.con.close()
        self.con = None
        self.started = False


class NullLogger:
    def log(self, values):
        pass

    def commit(self, step=None):
        pass

    def finish(self):
        pass


# ---------------------------------------------------------------------------
# The UI's Job table (DiffusionTrainer semantics)
# ---------------------------------------------------------------------------


class JobTable:
    """One short-lived connection per operation, autocommit, BEGIN IMMEDIATE
    for writes. A locked database is waited for (connect timeout) and then
    retried with back-off; unlike the real trainer (which gives up after 4
    attempts) it never gives up. A column missing from the table is treated
    as 0 / not written."""

    def __init__(self, path, job_id, timeout):
        self.path = path
        self.job_id = job_id
        self.timeout = timeout

    def _connect(self):
        con = sqlite3.connect(self.path, timeout=self.timeout)
        con.isolation_level = None
        return con

    def _retry(self, operation):
        attempt = 0
        while True:
            try:
                return operation()
            except sqlite3.OperationalError as e:
                text = str(e)
                if "locked" not in text and "busy" not in text:
                    raise
                delay = min(SIM.db_retry_delay * (2 ** min(attempt, 2)), 8.0)
                print(f"[AITK] Database locked (attempt {attempt + 1}/4), retrying in {delay:.1f}s...")
                time.sleep(delay)
                attempt += 1

    def flag(self, column):
        def op():
            con = self._connect()
            try:
                row = con.execute(f"SELECT {column} FROM Job WHERE id = ?", (self.job_id,)).fetchone()
            except sqlite3.OperationalError as e:
                if "no such column" in str(e):
                    return False
                raise
            finally:
                con.close()
            return False if row is None else row[0] == 1 or row[0] == "1" or row[0] is True

        return self._retry(op)

    def update(self, assignments):
        def op():
            con = self._connect()
            try:
                con.execute("BEGIN IMMEDIATE")
                try:
                    for column, value in assignments.items():
                        try:
                            con.execute(f"UPDATE Job SET {column} = ? WHERE id = ?", (value, self.job_id))
                        except sqlite3.OperationalError as e:
                            if "no such column" not in str(e):
                                raise
                finally:
                    con.execute("COMMIT")
            finally:
                con.close()

        self._retry(op)


# ---------------------------------------------------------------------------
# Jobs and the trainer process
# ---------------------------------------------------------------------------

TRAINER_TYPES = ("sd_trainer", "diffusion_trainer", "ui_trainer")
UI_TRAINER_TYPES = ("diffusion_trainer", "ui_trainer")


def replace_env_vars(text):
    def repl(match):
        value = os.environ.get(match.group(1))
        if value is None:
            raise ValueError(
                f"Environment variable {match.group(1)} not set. Please ensure it's defined before proceeding.")
        return value

    return re.sub(r"\$\{([^}]+)\}", repl, text)


def load_config(path, name):
    real_path = None
    if os.path.exists(path):
        real_path = path
    elif os.path.exists(os.path.join(os.getcwd(), path)):
        real_path = os.path.join(os.getcwd(), path)
    if real_path is None:
        raise ValueError(f"Could not find config file {path}")
    with open(real_path, "r", encoding="utf-8") as f:
        config = json.loads(replace_env_vars(f.read()), object_pairs_hook=OrderedDict)
    if "job" not in config:
        raise ValueError("config file must have a job key")
    if "config" not in config:
        raise ValueError("config file must have a config section")
    if "name" not in config["config"] and name is None:
        raise ValueError("config file must have a config.name key")
    if name is None:
        name = config["config"]["name"]
    return json.loads(json.dumps(config).replace("[name]", name), object_pairs_hook=OrderedDict)


def get_job(path, name=None):
    config = load_config(path, name)
    if not config["job"]:
        raise ValueError('config file is invalid. Missing "job" key')
    if config["job"] not in ("extension", "train"):
        raise ValueError(f"Unknown job type {config['job']}")
    return ExtensionJob(config)


class ExtensionJob:
    def __init__(self, config):
        self.raw_config = config
        self.config = config["config"]
        self.job = config["job"]
        if "name" not in self.config:
            raise ValueError('config file error. Missing "config.name" key')
        self.name = self.config["name"]
        self.meta = config.get("meta", OrderedDict())
        if "process" not in self.config:
            raise ValueError('config file is invalid. Missing "config.process" key')
        if len(self.config["process"]) == 0:
            raise ValueError('config file is invalid. "config.process" must be a list of processes')
        self.process = []
        for i, process in enumerate(self.config["process"]):
            if "type" not in process:
                raise ValueError(f'config file is invalid. Missing "config.process[{i}].type" key')
            if process["type"] not in TRAINER_TYPES:
                raise ValueError(f"config file is invalid. Unknown process type: {process['type']}")
            self.process.append(SimTrainer(i, self, process))

    def run(self):
        print("")
        print("#############################################")
        print(f"# Running job: {self.name}")
        print("#############################################")
        print("")
        print("")
        count = len(self.process)
        print(f"Running  {count} process{'' if count == 1 else 'es'}")
        for process in self.process:
            process.run()

    def cleanup(self):
        pass


class Timer:
    def __init__(self, name):
        self.name = name
        self.timers = OrderedDict()
        self.active = {}
        self.after_print_hooks = []

    def start(self, key):
        self.timers.setdefault(key, deque(maxlen=10))
        self.active[key] = time.time()

    def stop(self, key):
        self.timers[key].append(time.time() - self.active.pop(key))

    def cancel(self, key):
        self.active.pop(key, None)

    def print(self):
        if not IS_UI_ENV:
            print(f"\nTimer '{self.name}':")
        timing = OrderedDict()
        for key, values in sorted(self.timers.items(), key=lambda kv: sum(kv[1]), reverse=True):
            if not values:
                continue
            avg = sum(values) / len(values)
            if not IS_UI_ENV:
                print(f" - {avg:.4f}s avg - {key}, num = {len(values)}")
            timing[key] = avg
        for hook in self.after_print_hooks:
            hook(timing)
        if not IS_UI_ENV:
            print("")

    def reset(self):
        self.timers.clear()
        self.active.clear()


class SimTrainer:
    """BaseSDTrainProcess + SDTrainer + DiffusionTrainer, reduced to their output."""

    def __init__(self, process_id, job, config):
        self.process_id = process_id
        self.job = job
        self.config = config
        self.name = config.get("name", job.name)
        self.meta = json.loads(json.dumps(job.meta), object_pairs_hook=OrderedDict)
        self.timer = Timer(f"{self.name} Timer")
        self.performance_log_every = config.get("performance_log_every", 0) or 0
        print(json.dumps(self.config, indent=4))

        self.progress_bar = None
        self.training_folder = config.get("training_folder")
        if self.training_folder is None:
            raise TypeError("expected str, bytes or os.PathLike object, not NoneType")
        self.save_root = os.path.join(self.training_folder, self.name)
        os.makedirs(self.save_root, exist_ok=True)
        with open(os.path.join(self.save_root, "config.yaml"), "w") as f:
            f.write(dump_yaml(job.raw_config))

        self.step_num = 0
        self.start_step = 0
        self.epoch_num = 0
        self.last_save_step = 0
        self.num_consecutive_oom = 0
        self.trigger_word = config.get("trigger_word")

        network = config.get("network") or {}
        self.has_network = bool(config.get("network"))
        self.net_type = network.get("type", "lora")
        self.rank = network.get("rank", network.get("linear", 4))
        self.alpha = network.get("linear_alpha", network.get("alpha", 1.0))
        self.conv = network.get("conv")
        self.conv_alpha = network.get("conv_alpha", self.conv)
        self.dropout = network.get("dropout")

        save = config.get("save") or {}
        self.save_every = save.get("save_every", 1000)
        self.max_saves = save.get("max_step_saves_to_keep", 5)
        self.save_dtype = save.get("dtype", "float16")

        train = config.get("train") or {}
        self.steps = int(train.get("steps", 1000))
        self.lr = float(train.get("lr", 1e-6))
        self.batch_size = int(train.get("batch_size", 1) or 1)
        self.skip_first_sample = bool(train.get("skip_first_sample", False))
        self.force_first_sample = bool(train.get("force_first_sample", False))
        self.disable_sampling = bool(train.get("disable_sampling", False))
        self.start_step_override = train.get("start_step")

        sample = config.get("sample") or {}
        self.sample_every = sample.get("sample_every", 100)
        self.sample_start_step = sample.get("sample_start_step", 0)
        self.sample_width = int(sample.get("width", SIM.sample_size))
        self.sample_height = int(sample.get("height", SIM.sample_size))
        self.sample_ext = sample.get("format", "jpg")
        if (sample.get("num_frames", 1) or 1) > 1 and self.sample_ext != "webp":
            print("Changing sample extention to animated webp")
            self.sample_ext = "webp"
        samples = sample.get("samples") or [{"prompt": p} for p in (sample.get("prompts") or [])]
        self.prompts = [s.get("prompt") for s in samples if s.get("prompt") is not None]

        logging_conf = config.get("logging") or {}
        self.log_every = logging_conf.get("log_every", 100)
        if logging_conf.get("use_ui_logger", False):
            self.logger = UILogger(os.path.join(self.save_root, "loss_log.db"))
        else:
            self.logger = NullLogger()

        model = config.get("model") or {}
        self.quantize = bool(model.get("quantize", True))
        self.quantize_te = bool(model.get("quantize_te", False))

        datasets = config.get("datasets") or []
        self.datasets = [d for d in datasets if isinstance(d, dict)] or [
            {"folder_path": f"datasets/{self.trigger_word or job.name}", "resolution": [512]}]

        # DiffusionTrainer: UI mode needs the DB file and AITK_JOB_ID
        self.is_ui_trainer = False
        self.is_stopping = False
        self.db = None
        if config["type"] in UI_TRAINER_TYPES or SIM.db is not None:
            self.sqlite_db_path = SIM.db if SIM.db is not None else config.get("sqlite_db_path", "./aitk_db.db")
            job_id = os.environ.get("AITK_JOB_ID")
            job_id = job_id.strip() if job_id is not None else None
            self.is_ui_trainer = True
            if not os.path.exists(self.sqlite_db_path):
                self.is_ui_trainer = False
            else:
                print(f"Using SQLite database at {self.sqlite_db_path}")
            if job_id is None:
                self.is_ui_trainer = False
            else:
                print(f'Job ID: "{job_id}"')
            if self.is_ui_trainer:
                self.db = JobTable(self.sqlite_db_path, job_id, SIM.db_timeout)
                update = OrderedDict([("status", "running"), ("info", "Starting")])
                if SIM.write_pid:
                    update["pid"] = os.getpid()  # normally written by the UI's startJob
                self.db.update(update)

    # ----- UI database hooks ---------------------------------------------

    def update_status(self, status, info=None):
        if self.is_ui_trainer:
            update = OrderedDict([("status", status)])
            if info is not None:
                update["info"] = info
            self.db.update(update)

    def update_db_key(self, key, value):
        if self.is_ui_trainer:
            self.db.update({key: value if isinstance(value, str) else str(value)})

    def maybe_stop(self):
        if not self.is_ui_trainer:
            return
        if self.db.flag("stop"):
            self.update_status("stopped", "Job stopped")
            self.is_stopping = True
            raise Exception("Job stopped")
        if self.db.flag("return_to_queue"):
            self.update_status("queued", "Job queued")
            self.is_stopping = True
            raise Exception("Job returning to queue")

    def maybe_save(self):
        if self.is_ui_trainer and self.db.flag("save_now"):
            self.update_db_key("save_now", 0)
            if self.progress_bar is not None:
                self.progress_bar.pause()
            print_acc(f"\nSaving at step {self.step_num}")
            self.save(self.step_num)
            if self.progress_bar is not None:
                self.progress_bar.unpause()

    def maybe_sample(self):
        if self.is_ui_trainer and self.db.flag("sample_now"):
            self.update_db_key("sample_now", 0)
            if self.progress_bar is not None:
                self.progress_bar.pause()
            print_acc(f"\nSampling at step {self.step_num}")
            self.sample(self.step_num)
            if self.progress_bar is not None:
                self.progress_bar.unpause()

    def speed_hook(self, timing):
        rate = None
        if self.progress_bar is not None and not SIM.old_bar:
            rate = self.progress_bar.format_dict.get("rate")
        if rate:
            text = f"{rate:.2f} iter/sec" if rate >= 1 else f"{1 / rate:.2f} sec/iter"
        elif "train_loop" in timing:
            seconds = timing["train_loop"]
            text = f"{1 / seconds:.2f} iter/sec" if seconds < 1 else f"{seconds:.2f} sec/iter"
        else:
            print("train_loop not found in timing_dict", dict(timing))
            return
        self.update_db_key("speed_string", text)

    def on_error(self, e):
        if not self.is_ui_trainer:
            return
        try:
            if isinstance(e, KeyboardInterrupt):
                self.is_stopping = True
                if self.progress_bar is not None:
                    self.progress_bar.disable = True  # so tqdm does not repaint it at exit
                    self.progress_bar.close()
                self.update_status("stopped", "Job stopped")
            elif not self.is_stopping:
                self.update_status("error", str(e))
            self.update_db_key("step", self.last_save_step)
        except Exception as db_err:
            print(f"[AITK] Warning: failed to update DB during error handling: {db_err}")

    # ----- phases --------------------------------------------------------

    def phase(self, text, seconds):
        print_acc(text)
        self.update_status("running", text)
        sim_sleep(seconds)

    def load_model(self):
        phases = ["Loading Flux model", "Loading transformer"]
        if self.quantize:
            phases.append("Quantizing transformer")
        phases.append("Loading T5")
        if self.quantize_te:
            phases.append("Quantizing T5")
        phases += ["Loading VAE", "Making pipe", "Preparing Model", "Model Loaded"]
        each = SIM.load_time * 0.7 / len(phases)
        for text in phases:
            self.phase(text, each)

    def create_network(self):
        if not self.has_network:
            return
        print(f"create LoRA network. base dim (rank): {self.rank}, alpha: {self.alpha}")
        print("neuron dropout: p={}, rank dropout: p=None, module dropout: p=None".format(self.dropout))
        if self.conv is not None:
            print(f"apply LoRA to Conv2d with kernel size (3,3). dim (rank): {self.conv}, alpha: {self.conv_alpha}")
        print("create LoRA for Text Encoder: 0 modules.")
        print("create LoRA for U-Net: 494 modules.")
        print("enable LoRA for U-Net")

    def get_latest_save_path(self):
        if not os.path.exists(self.save_root):
            return None
        name = self.job.name
        paths = []
        for pattern in (f"{name}*.safetensors", f"{name}*.pt", f"{name}*"):
            paths.extend(glob.glob(os.path.join(self.save_root, pattern)))
        paths = [p for p in paths if os.path.exists(p)]
        for tag in ("_LoRA", "_refiner", "_t2i", "_cn"):
            if tag not in name:
                paths = [p for p in paths if tag not in p]
        if not paths:
            return None
        return max(paths, key=os.path.getctime)

    def resume_if_possible(self):
        latest = self.get_latest_save_path()
        if latest is None:
            if SIM.resume:
                raise ValueError(f"--resume given but there is no checkpoint in {self.save_root}")
            return
        print_acc(f"#### IMPORTANT RESUMING FROM {latest} ####")
        print_acc(f"Loading from {latest}")
        try:
            meta = read_safetensors_metadata(latest) if os.path.isfile(latest) else {}
        except (OSError, ValueError, struct.error):
            meta = {}
        info = meta.get("training_info")
        if isinstance(info, dict) and "step" in info and self.start_step_override is None:
            self.step_num = int(info["step"])
            self.epoch_num = int(info.get("epoch", 0))
            self.start_step = self.step_num
            print_acc(f"Found step {self.step_num} in metadata, starting from there")

    def load_optimizer(self):
        path = os.path.join(self.save_root, "optimizer.pt")
        if os.path.exists(path):
            print_acc(f"Loading optimizer state from {path}")
            print_acc("Updating optimizer LR from params")

    def count_images(self, folder):
        if os.path.isdir(folder):
            found = [f for f in os.listdir(folder)
                     if os.path.splitext(f)[1].lower() in (".jpg", ".jpeg", ".png", ".webp", ".bmp")]
            if found:
                return len(found)
        return SIM.num_images

    def load_datasets(self):
        self.num_images = 0
        per_item = SIM.load_time * 0.3
        for dataset in self.datasets:
            path = dataset.get("folder_path", "datasets")
            count = self.count_images(path)
            self.num_images += count
            resolution = dataset.get("resolution", 512)
            if isinstance(resolution, list):
                resolution = resolution[0] if resolution else 512
            delay = per_item / max(1, 2 * count * len(self.datasets))
            print_acc(f"Dataset: {path}")
            print_acc("  -  Preprocessing image dimensions")
            for _ in make_bar(range(count)):
                sim_sleep(delay)
            print_acc(f"  -  Found {count} images")
            print_acc(f"Bucket sizes for {path}:")
            print_acc(f"{resolution}x{resolution}: {count} files")
            print_acc("1 buckets made")
            print_acc(f"Caching latents for {path}")
            print_acc(" - Saving latents to disk")
            bar = make_bar(total=count, desc="Caching latents to disk")
            for _ in range(count):
                sim_sleep(delay)
                bar.update(1)
            bar.close()
        self.iters_per_epoch = max(1, math.ceil(self.num_images / self.batch_size))

    # ----- save / sample -------------------------------------------------

    def save(self, step=None):
        self.maybe_stop()
        self.update_status("running", "Saving model")
        os.makedirs(self.save_root, exist_ok=True)
        suffix = ""
        if step is not None:
            self.last_save_step = step
            suffix = f"_{step:09d}"
        file_path = os.path.join(self.save_root, f"{self.job.name}{suffix}.safetensors")
        sim_sleep(SIM.save_time)

        meta = OrderedDict(self.meta)
        meta["training_info"] = OrderedDict([("step", self.step_num), ("epoch", self.epoch_num)])
        meta["ss_base_model_version"] = "flux.1"
        meta["ss_output_name"] = self.job.name
        if self.trigger_word is not None:
            meta["ss_tag_frequency"] = {f"1_{self.trigger_word}": {f"{self.trigger_word}": 1}}
        meta = json.loads(json.dumps(meta).replace("[name]", self.job.name), object_pairs_hook=OrderedDict)
        meta["software"] = OrderedDict([("name", "ai-toolkit"), ("repo", "https://github.com/ostris/ai-toolkit"),
                                        ("version", SIM_VERSION)])
        for key, value in list(meta.items()):
            if not isinstance(value, str):
                meta[key] = json.dumps(value)
        meta["format"] = "pt"

        rank = int(self.rank) if isinstance(self.rank, (int, float)) and 0 < self.rank <= 64 else 4
        rng = random.Random(SIM.seed * 7919 + self.step_num)
        tensors = OrderedDict()
        base = "transformer.single_transformer_blocks.0.proj_out"
        tensors[f"{base}.lora_A.weight"] = ("F16", [rank, 8], _f16_bytes(rng.uniform(-0.1, 0.1) for _ in range(rank * 8)))
        tensors[f"{base}.lora_B.weight"] = ("F16", [8, rank], _f16_bytes(rng.uniform(-0.01, 0.01) for _ in range(8 * rank)))
        write_safetensors(file_path, tensors, meta)
        print_acc(f"Saved checkpoint to {file_path}")

        optimizer_path = os.path.join(self.save_root, "optimizer.pt")
        with open(optimizer_path, "wb") as f:
            f.write(b"PK\x03\x04simulated optimizer state, step %d\n" % self.step_num)
        print_acc(f"Saved optimizer to {optimizer_path}")

        self.clean_up_saves()
        self.maybe_stop()
        self.update_status("running", "Training")

    def clean_up_saves(self):
        if not os.path.exists(self.save_root):
            return
        items = glob.glob(os.path.join(self.save_root, f"{self.job.name}_*"))
        safetensors_files = sorted([f for f in items if f.endswith(".safetensors")], key=os.path.getctime)
        pt_files = sorted([f for f in items if f.endswith(".pt")], key=os.path.getctime)
        keep = self.max_saves
        remove = (safetensors_files[:-keep] if safetensors_files else []) + (pt_files[:-keep] if pt_files else [])
        for item in dict.fromkeys(remove):
            print_acc(f"Removing old save: {item}")
            os.remove(item)
            yaml_file = os.path.splitext(item)[0] + ".yaml"
            if os.path.exists(yaml_file):
                os.remove(yaml_file)

    def make_image(self, step, index, width, height):
        t = step / max(1, self.steps)
        color = (int(40 + 200 * t) % 256, int(200 - 150 * t) % 256, (60 + 70 * index) % 256)
        image = Image.new("RGB", (width, height), color)
        draw = ImageDraw.Draw(image)
        inset = max(2, min(width, height) // 6)
        draw.rectangle([inset, inset, width - inset, height - inset],
                       outline=(255 - color[0], 255 - color[1], 255 - color[2]), width=max(1, inset // 3))
        draw.text((inset + 2, inset + 2), f"{step}", fill=(255, 255, 255))
        return image

    def save_sample(self, image, folder, step, index):
        tmp_folder = os.path.join(folder, ".tmp")
        os.makedirs(tmp_folder, exist_ok=True)
        gen_time = int(time.time() * 1000)
        filename = f"{gen_time}__{step:09d}_{index}.{self.sample_ext}"
        tmp_path = os.path.join(tmp_folder, filename)
        fmt = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}.get(self.sample_ext.lower(), "JPEG")
        image.save(tmp_path, format=fmt)
        thumbs = os.path.join(folder, ".thumbs")
        os.makedirs(thumbs, exist_ok=True)
        thumb = image.convert("RGB").resize((300, 300))
        thumb_tmp = tmp_path + ".thumb"
        thumb.save(thumb_tmp, format="JPEG", quality=90)
        os.replace(thumb_tmp, os.path.join(thumbs, filename + ".jpg"))
        os.replace(tmp_path, os.path.join(folder, filename))

    def sample(self, step):
        self.maybe_stop()
        total = len(self.prompts)
        self.update_status("running", f"Generating images - 0/{total}")
        folder = os.path.join(self.save_root, "samples")
        width = min(1024, max(64, self.sample_width - self.sample_width % 8))
        height = min(1024, max(64, self.sample_height - self.sample_height % 8))
        for i in make_bar(range(total), desc="Generating Images", leave=False):
            sim_sleep(SIM.sample_time)
            self.save_sample(self.make_image(step, i, width, height), folder, step, i)
            if self.is_ui_trainer:
                self.maybe_stop()
                self.update_status("running", f"Generating images - {i + 1}/{total}")
        print_acc("")
        self.maybe_stop()
        self.update_status("running", "Training")

    # ----- training ------------------------------------------------------

    def loss_at(self, step):
        rng = random.Random(SIM.seed * 1000003 + step)
        base = 0.08 + 0.42 * math.exp(-3.0 * step / max(1, self.steps))
        return max(1e-4, base * (1.0 + rng.gauss(0.0, 0.3)))

    def hook_train_loop(self, step):
        duration = SIM.step_time
        if SIM.step_jitter:
            duration *= 1.0 + random.Random(SIM.seed * 31 + step).uniform(-SIM.step_jitter, SIM.step_jitter)
        sim_sleep(duration)
        if step in SIM.oom_skip_at:
            raise OutOfMemoryError(cuda_oom_message())  # caught: the batch is skipped
        if SIM.crash_at is not None and step == SIM.crash_at:
            raise RuntimeError(SIM.crash_message)
        if SIM.hang_at is not None and step == SIM.hang_at:
            # A hung trainer (a deadlocked collective, a stuck data loader): alive, silent, forever.
            while True:
                sim_sleep(3600)
        return OrderedDict([("loss", self.loss_at(step))])

    def optimizer_step(self, step):
        # outside the OOM guard around hook_train_loop, so an OOM here is fatal
        if step in SIM.oom_at:
            raise OutOfMemoryError(cuda_oom_message())

    def end_step_hook(self):
        if self.is_ui_trainer:
            self.update_db_key("step", self.step_num)
            self.maybe_stop()
            self.maybe_save()
            self.maybe_sample()

    def run(self):
        if self.is_ui_trainer:
            self.maybe_stop()
            self.update_status("running", "Loading model")
            self.maybe_stop()
        self.load_model()
        self.create_network()
        if self.has_network:
            self.resume_if_possible()
        self.load_optimizer()

        if self.is_ui_trainer:
            self.maybe_stop()
            self.update_status("running", "Loading dataset")
        self.load_datasets()
        self.last_save_step = self.step_num
        if self.is_ui_trainer:
            self.maybe_stop()
            self.update_db_key("step", self.step_num)
            self.update_status("running", "Training")
            if self.performance_log_every > 0:
                self.timer.after_print_hooks.append(self.speed_hook)

        if self.skip_first_sample or self.disable_sampling:
            print_acc("Skipping first sample due to config setting")
        elif self.step_num <= 1 or self.force_first_sample:
            print_acc("Generating baseline samples before training")
            self.sample(self.step_num)

        self.progress_bar = SimProgressBar(
            total=self.steps,
            desc=self.job.name,
            leave=True,
            initial=self.step_num,
            iterable=range(0, self.steps),
        )
        self.progress_bar.pause()

        batches_left = self.iters_per_epoch
        start_step = self.step_num
        for step in range(start_step, self.steps):
            self.timer.start("train_loop")
            self.step_num = step
            self.progress_bar.unpause()
            is_save_step = bool(self.save_every) and step % self.save_every == 0
            is_sample_step = bool(self.sample_every) and step >= self.sample_start_step \
                and step % self.sample_every == 0 and not self.disable_sampling

            self.timer.start("get_batch")
            if batches_left == 0:
                if SIM.old_bar:
                    self.progress_bar.pause()
                batches_left = self.iters_per_epoch
                self.epoch_num += 1
                if SIM.old_bar:
                    self.progress_bar.unpause()
            batches_left -= 1
            self.timer.stop("get_batch")

            did_oom = False
            loss_dict = None
            try:
                loss_dict = self.hook_train_loop(step)
            except OutOfMemoryError:
                did_oom = True
            except RuntimeError as e:
                if "CUDA out of memory" in str(e):
                    did_oom = True
                else:
                    raise
            if did_oom:
                self.num_consecutive_oom += 1
                if self.num_consecutive_oom > 3:
                    raise RuntimeError("OOM during training step 3 times in a row, aborting training")
                print_acc("")
                print_acc("################################################")
                print_acc(f"# OOM during training step, skipping batch {self.num_consecutive_oom}/3 #")
                print_acc("################################################")
                print_acc("")
            else:
                self.num_consecutive_oom = 0
                self.optimizer_step(step)
            self.timer.stop("train_loop")

            learning_rate = 0.0
            if not did_oom and loss_dict is not None:
                learning_rate = self.lr
                postfix = f"lr: {learning_rate:.1e}"
                for key, value in loss_dict.items():
                    postfix += f" {key}: {value:.3e}"
                self.progress_bar.set_postfix_str(postfix)

            if step != start_step:
                if is_save_step:
                    self.progress_bar.pause()
                    print_acc(f"\nSaving at step {step}")
                    self.save(step)
                    self.progress_bar.unpause()
                if is_sample_step:
                    self.progress_bar.pause()
                    self.sample(step)
                    self.progress_bar.unpause()
                if (self.log_every and step % self.log_every == 0) or self.log_every is None:
                    if SIM.old_bar:
                        self.progress_bar.pause()
                        self.progress_bar.unpause()
                    self.logger.log({"learning_rate": learning_rate})
                    if loss_dict is not None:
                        for key, value in loss_dict.items():
                            self.logger.log({f"loss/{key}": value})
                if self.performance_log_every > 0 and step % self.performance_log_every == 0:
                    if SIM.old_bar:
                        self.progress_bar.pause()
                    self.timer.print()
                    self.timer.reset()
                    if SIM.old_bar:
                        self.progress_bar.unpause()

            self.timer.start("commit_logger")
            self.logger.commit(step=step)
            self.timer.stop("commit_logger")

            if SIM.old_bar:
                self.progress_bar.update(step - self.progress_bar.n)
            else:
                self.progress_bar.update(step + 1 - self.progress_bar.n)

            self.step_num = step + 1
            self.end_step_hook()

        self.progress_bar.close()
        self.save()
        if not self.disable_sampling:
            self.sample(self.step_num)
            self.logger.commit(step=self.step_num)
        print_acc("")
        self.logger.finish()
        if self.is_ui_trainer:
            self.update_status("completed", "Training completed")


# ---------------------------------------------------------------------------
# run.py
# ---------------------------------------------------------------------------


def print_end_message(jobs_completed, jobs_failed):
    failure_string = f"{jobs_failed} failure{'' if jobs_failed == 1 else 's'}" if jobs_failed > 0 else ""
    completed_string = f"{jobs_completed} completed job{'' if jobs_completed == 1 else 's'}"
    print_acc("")
    print_acc("========================================")
    print_acc("Result:")
    if completed_string:
        print_acc(f" - {completed_string}")
    if failure_string:
        print_acc(f" - {failure_string}")
    print_acc("========================================")


def step_list(values):
    out = set()
    for value in values or []:
        for part in str(value).split(","):
            part = part.strip()
            if part:
                out.add(int(part))
    return out


def build_parser():
    p = argparse.ArgumentParser(
        description="Simulated ai-toolkit run.py (trains nothing). See test/sim/README.md.")
    p.add_argument("config_file_list", nargs="+", help="JSON job config(s), ai-toolkit shape")
    p.add_argument("-r", "--recover", action="store_true", help="continue with the next config after a failure")
    p.add_argument("-n", "--name", default=None, help="replace [name] in the config")
    p.add_argument("-l", "--log", default=None, help="tee stdout+stderr into FILE (append), like run.py --log")
    g = p.add_argument_group("simulation")
    g.add_argument("--step-time", type=float, default=0.05, help="seconds per training step (default 0.05)")
    g.add_argument("--step-jitter", type=float, default=0.0,
                   help="random +- fraction applied to each step time (default 0)")
    g.add_argument("--sample-time", type=float, default=0.05, help="seconds per sample image (default 0.05)")
    g.add_argument("--save-time", type=float, default=0.05, help="seconds per checkpoint save (default 0.05)")
    g.add_argument("--load-time", type=float, default=0.5,
                   help="seconds for model load + dataset prep together (default 0.5)")
    g.add_argument("--seed", type=int, default=42, help="seed of the loss curve (default 42)")
    g.add_argument("--num-images", type=int, default=10,
                   help="dataset size when folder_path does not exist (default 10)")
    g.add_argument("--sample-size", type=int, default=64,
                   help="sample width/height when the config has none (default 64)")
    g.add_argument("--old-bar", action="store_true",
                   help="pre-2026-08-21 bar: update(step - n), smoothing 0.3, extra pauses")
    g.add_argument("--smoothing", type=float, default=None, help="override the training bar's smoothing")
    g.add_argument("--ascii", action="store_true", help="ASCII bars for every tqdm bar")
    g.add_argument("--oom-at", action="append", default=[], metavar="STEP",
                   help="fatal CUDA OOM at this loop step (repeatable / comma list)")
    g.add_argument("--oom-skip-at", action="append", default=[], metavar="STEP",
                   help="OOM that is caught and the batch skipped (repeatable / comma list)")
    g.add_argument("--crash-at", type=int, default=None, metavar="STEP", help="raise RuntimeError at this step")
    g.add_argument("--hang-at", type=int, default=None, metavar="STEP", help="stop making progress at this step, silently, without exiting")
    g.add_argument("--crash-message", default="Expected all tensors to be on the same device, but found at "
                   "least two devices, cuda:0 and cpu!", help="message of the --crash-at RuntimeError")
    g.add_argument("--resume", action="store_true",
                   help="require a checkpoint to resume from (resuming itself is automatic)")
    g.add_argument("--db", default=None, help="UI database (Job table); overrides sqlite_db_path")
    g.add_argument("--db-timeout", type=float, default=30.0, help="sqlite busy timeout, seconds (default 30)")
    g.add_argument("--db-retry-delay", type=float, default=2.0,
                   help="first back-off after 'database is locked' (default 2.0)")
    g.add_argument("--no-write-pid", dest="write_pid", action="store_false",
                   help="do not write Job.pid (the UI normally does)")
    g.add_argument("--doubled-stderr", action="store_true", help="old --log tee bug: stderr written twice")
    g.add_argument("--buffered-stdout", action="store_true",
                   help="block-buffer stdout like a redirected run without PYTHONUNBUFFERED")
    g.add_argument("--old-sigint", action="store_true",
                   help="pre-2026-07-22 Ctrl-C: Result block + KeyboardInterrupt traceback")
    g.add_argument("--no-exit-repaint", action="store_true",
                   help="stop tqdm from repainting unclosed bars when the interpreter exits")
    return p


def _silence_open_bars():
    for bar in list(getattr(tqdm, "_instances", [])):
        bar.disable = True


def main():
    args = build_parser().parse_args()
    args.oom_at = step_list(args.oom_at)
    args.oom_skip_at = step_list(args.oom_skip_at)
    for key, value in vars(args).items():
        setattr(SIM, key, value)

    # Python only installs its KeyboardInterrupt handler when SIGINT is not
    # ignored at startup; background shells ignore it, so install it always.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    setup_streams(args)
    if args.no_exit_repaint:
        import atexit
        atexit.register(_silence_open_bars)

    config_file_list = args.config_file_list
    jobs_completed = 0
    jobs_failed = 0
    print_acc(f"Running {len(config_file_list)} job{'' if len(config_file_list) == 1 else 's'}")

    for config_file in config_file_list:
        try:
            job = get_job(config_file, args.name)
            job.run()
            job.cleanup()
            jobs_completed += 1
        except Exception as e:
            print_acc(f"Error running job: {e}")
            jobs_failed += 1
            try:
                job.process[0].on_error(e)
            except Exception as e2:
                print_acc(f"Error running on_error: {e2}")
            if not args.recover:
                print_end_message(jobs_completed, jobs_failed)
                raise e
        except KeyboardInterrupt as e:
            try:
                job.process[0].on_error(e)
            except Exception as e2:
                print_acc(f"Error running on_error: {e2}")
            if not args.recover:
                if args.old_sigint:
                    print_end_message(jobs_completed, jobs_failed)
                    raise e
                print_acc("")
                print_acc("========================================")
                print_acc("Job stopped")
                print_acc("========================================")
                sys.exit(0)


if __name__ == "__main__":
    main()
