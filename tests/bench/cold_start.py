"""Cold start of each function: process spawn -> first response posted to a loopback Lambda
Runtime API, and the process's peak RSS (VmHWM), over N runs. The same harness runs a Python 3.11 +
boto3 twin (tests/bench/boto3_twin.py) so the ratio is measured, not assumed.

Each function is given its real init (its clients, its policy from a file) and an event it decides
without an AWS call, so the figure is start-up and decision, not network.

Each function's start-up is also counted in instructions, once, under callgrind (when valgrind
is installed): unlike the milliseconds, that count does not move with the machine's load or speed,
so it shows what a change did.

usage: python cold_start.py RUNS TARGET_DIR [--write DOC]
  prints a Markdown table, one row per program, and which targets the run missed; with --write,
  also puts it into DOC between the cold-start markers (docs/benchmarks.md).
"""

from __future__ import annotations

import datetime
import http.server
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
# Every function the SAM template builds (`BuildProperties.Binary`): each one must have a row.
TEMPLATE_BINARIES = set(re.findall(r"^\s+Binary: (\S+)$", (ROOT / "infra" / "template.yaml").read_text(), re.M))


def event(name: str, edit=None) -> bytes:
    value = json.loads((EVENTS / name).read_text())
    if edit:
        edit(value)
    return json.dumps(value).encode()


def unprotected_push(e):
    e["detail"]["repository-name"] = "other/app"  # no protected tags there: no AWS call


def no_route(e):
    # A message about a repository no Slack route covers: decided without a secret or a post.
    record = e["Records"][0]["Sns"]
    message = json.loads(record["Message"])
    message["repository"] = "other/app"
    record["Message"] = json.dumps(message)


# (program label, argv, event bytes)
def programs(target: Path) -> list[tuple[str, list[str], bytes]]:
    push = event("ecr-image-action.push.json", unprotected_push)
    # Each function gets its real init and an event it decides with no AWS call.
    not_an_image = event("inspector2-finding.ec2-instance.json")  # scan-gate: not an ECR image
    sns = event("sns.warden-message.json", no_route)
    not_a_schedule = push  # janitor: not a schedule, answered without a call
    not_a_request = push  # fanout: neither a plan nor a summarize request, rejected without a call
    twin = [sys.executable, str(Path(__file__).with_name("boto3_twin.py"))]
    return [
        ("tag-guard", [str(target / "tag-guard")], push),
        ("scan-gate", [str(target / "scan-gate")], not_an_image),
        ("notifier", [str(target / "notifier")], sns),
        ("janitor", [str(target / "janitor")], not_a_schedule),
        ("replicator", [str(target / "replicator")], push),  # no replication rule for other/app
        ("fanout", [str(target / "fanout")], not_a_request),
        ("python 3.11 + boto3 twin", twin, event("ecr-image-scan.complete.json")),
    ]


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """Serves one invocation, then records the response time."""

    payload = b"{}"
    served = threading.Event()
    answered = threading.Event()
    answered_at = 0.0

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if type(self).served.is_set():  # the next poll after the answer: keep it waiting
            time.sleep(5)
            return
        type(self).served.set()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-1")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
        self.send_header("Content-Length", str(len(self.payload)))
        self.end_headers()
        self.wfile.write(self.payload)

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        type(self).answered_at = time.perf_counter()
        type(self).answered.set()
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args):
        pass


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def once(
    argv: list[str], payload: bytes, env: dict[str, str] | None = None, timeout: float = 30, graceful: bool = False
) -> tuple[float, int]:
    """One invocation of `argv` under the loopback Runtime API; `env` adds to (or replaces) the
    defaults below. Returns (seconds to the response, peak RSS in KiB). The process is then killed,
    or with `graceful` terminated (SIGTERM) and waited for."""
    handler = type("Api", (RuntimeApi,), {"payload": payload, "served": threading.Event(), "answered": threading.Event()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    defaults = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # never called: the events need no AWS call
        "WARDEN_TABLE": "ecr-warden",
        "WARDEN_FANOUT_BUCKET": "ecr-warden-fanout",  # fanout's, required at init (never called here)
        "WARDEN_POLICY_FILE": str(ROOT / "infra" / "policy.yaml"),
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "WARN",
    }
    env = {**defaults, **(env or {})}
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not handler.answered.wait(timeout):
            raise RuntimeError(f"{argv[0]}: no response within {timeout} s")
        elapsed = handler.answered_at - started
        rss = peak_rss_kib(proc.pid)
    finally:
        if graceful:
            proc.terminate()
        else:
            proc.kill()
        proc.wait()
        server.shutdown()
    return elapsed, rss


def instructions(argv: list[str], payload: bytes) -> int | None:
    """Instructions from spawn to the process's end, one invocation under callgrind; None without
    valgrind."""
    if shutil.which("valgrind") is None:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        once(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv], payload, timeout=120, graceful=True)
        for line in out.read_text().splitlines():
            if line.startswith("summary:"):
                return int(line.split()[1])
    return None


def zip_size(binary: Path) -> int:
    """The deployment zip: the binary as `bootstrap`, deflated at level 9."""
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.write(binary, "bootstrap")
    return len(buffer.getvalue())


def machine() -> str:
    """This machine in one line: CPU model, cores, memory, kernel."""
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return f"{model}, {os.cpu_count()} cores, {mem_kib / 1024 / 1024:.0f} GiB, Linux {platform.release()}"


BEGIN, END = "<!-- cold-start: begin (written by make bench) -->", "<!-- cold-start: end -->"

# The lean-functions targets, checked against every run.
TARGET_MS, TARGET_RSS_MIB, TARGET_RATIO, TARGET_ZIP_MB = 8.0, 12.0, 20.0, 4.0


def report(runs: int, rows: list[tuple[str, float, float, float, int | None, int | None]], twin: float | None) -> str:
    lines = [
        f"Last run: {datetime.date.today().isoformat()}, {machine()}; {runs} runs per program.",
        "",
        f"| program | cold start median ({runs} runs) | max | peak RSS (median) | vs boto3 twin | zip x86_64 "
        "| start-up instructions (callgrind) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    misses = []
    for label, median, worst, rss, size, count in rows:
        is_twin = label.startswith("python")
        ratio = twin / median if twin and not is_twin else None
        zip_text = f"{size / 1e6:.2f} MB" if size else ""
        ratio_text = f"{ratio:.1f}x faster" if ratio else ""
        count_text = f"{count / 1e6:.1f} M" if count else ""
        lines.append(
            f"| {label} | {median:.1f} ms | {worst:.1f} ms | {rss:.1f} MiB | {ratio_text} | {zip_text} | {count_text} |"
        )
        if is_twin:
            continue
        if median > TARGET_MS:
            misses.append(f"{label}: cold start {median:.1f} ms > {TARGET_MS:.0f} ms")
        if rss > TARGET_RSS_MIB:
            misses.append(f"{label}: peak RSS {rss:.1f} MiB > {TARGET_RSS_MIB:.0f} MiB")
        if ratio is not None and ratio < TARGET_RATIO:
            misses.append(f"{label}: {ratio:.1f}x the twin < {TARGET_RATIO:.0f}x")
        if size and size / 1e6 > TARGET_ZIP_MB:
            misses.append(f"{label}: zip {size / 1e6:.2f} MB > {TARGET_ZIP_MB:.0f} MB")
    lines.append("")
    if misses:
        lines.append("Targets missed in this run: " + "; ".join(misses) + ".")
    else:
        lines.append(
            f"Every function within the targets in this run: median ≤ {TARGET_MS:.0f} ms, peak RSS ≤ "
            f"{TARGET_RSS_MIB:.0f} MiB, ≥ {TARGET_RATIO:.0f}x the twin, zip ≤ {TARGET_ZIP_MB:.0f} MB."
        )
    return "\n".join(lines)


def write_into(doc: Path, text: str) -> None:
    """Replace what lies between the markers in `doc` with `text`."""
    content = doc.read_text()
    start, end = content.index(BEGIN) + len(BEGIN), content.index(END)
    doc.write_text(content[:start] + "\n" + text + "\n" + content[end:])


def main() -> None:
    runs, target = int(sys.argv[1]), Path(sys.argv[2])
    write = Path(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--write" else None
    rows = []
    medians = {}
    missing = TEMPLATE_BINARIES - {label for label, _, _ in programs(target)}
    if missing:
        sys.exit(f"cold_start.py: no program for {sorted(missing)}, which infra/template.yaml builds: add each one")
    for label, argv, payload in programs(target):
        times, peaks = [], []
        for _ in range(runs):
            t, rss = once(argv, payload)
            times.append(t * 1000)
            peaks.append(rss / 1024)
        medians[label] = statistics.median(times)
        binary = Path(argv[0])
        ours = binary.parent == target
        size = zip_size(binary) if ours else None
        count = instructions(argv, payload) if ours else None
        rows.append((label, statistics.median(times), max(times), statistics.median(peaks), size, count))
    text = report(runs, rows, medians.get("python 3.11 + boto3 twin"))
    print(text)
    if write:
        write_into(write, text)
        print(f"written into {write}")


if __name__ == "__main__":
    main()
