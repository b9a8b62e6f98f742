"""Execute Jupyter notebooks with nbclient and report each cell as a JSON line.

Driven by `divellm run` (kernel/nbrun, which embeds this file); not meant to be run by hand,
though it can be:  python3 nbrun.py '{"kernel": "gonb-divellm", "notebooks": [...]}'

Input (argv[1], JSON): kernel, timeout (seconds per cell), startup_timeout, notebooks: a list
of {"path": source, "out": executed copy}.
Output (stdout, one JSON object per line):
  {"event": "start", "notebook": i, "kernel_seconds": s}
  {"event": "cell", "notebook": i, "index": j, "kind": "code", "seconds": s, "tags": [...],
   "errors": [{"ename", "evalue", "traceback"}], "stdout": "...", "stderr": "...",
   "text": plain text of the displays, "cpu_seconds": CPU time of the kernel and the
   programs it ran for the cell (null where /proc is not available)}
  {"event": "end", "notebook": i, "seconds": s, "fatal": "..." or ""}
The Go side decides what counts as a failure (an error output in a cell without the
raises-exception tag), so this script never stops on a cell error; it stops a notebook only
when the kernel dies or a cell times out.
"""

import html
import json
import os
import re
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def text_of(outputs, name):
    return "".join(
        o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == name
    )


def first_line(source):
    """The first line worth showing: not blank, not GoNB's "%%" (run main) marker."""
    for line in source.splitlines():
        if line.strip() and line.strip() != "%%":
            return line.strip()[:80]
    return ""


def html_text(outputs):
    """Plain text of HTML displays: GoNB shows compile errors as HTML."""
    parts = []
    for o in outputs:
        h = o.get("data", {}).get("text/html") if o.get("output_type") == "display_data" else None
        if h:
            h = re.sub(r"(?is)<(style|script)\b.*?</\1>", "", h if isinstance(h, str) else "".join(h))
            parts.append(html.unescape(re.sub(r"<[^>]+>", "", h)).strip())
    return "\n".join(p for p in parts if p)


def kernel_pid(client):
    """The kernel process id, or None (nbclient starts it through jupyter_client)."""
    try:
        return client.km.provisioner.process.pid
    except AttributeError:
        return None


def cpu_seconds(pid):
    """CPU time of process pid and of its children it has waited for, in seconds (Linux).

    GoNB waits for every program a cell runs (go build, hence the compiler and the linker,
    then the cell's own binary), so the difference over a cell is the CPU the cell cost,
    which, unlike wall time, does not grow when other programs load the machine."""
    if pid is None:
        return None
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # After the command name: state is field 3; utime, stime, cutime, cstime are 14-17.
        ticks = sum(int(x) for x in fields[11:15])
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def display_text(outputs):
    """Plain text of the text/plain and HTML displays (exercise checks, tables)."""
    parts = []
    for o in outputs:
        if o.get("output_type") not in ("display_data", "execute_result"):
            continue
        data = o.get("data", {})
        if "text/html" in data:
            parts.append(html_text([{"output_type": "display_data", "data": {"text/html": data["text/html"]}}]))
        elif "text/plain" in data:
            t = data["text/plain"]
            parts.append(t if isinstance(t, str) else "".join(t))
    return "\n".join(p for p in parts if p)


def one_line(e):
    """The exception as one short line: its type and the first line of its message."""
    msg = (str(e).strip().splitlines() or [""])[0]
    return ("%s: %s" % (type(e).__name__, msg))[:300]


def run_one(i, spec, cfg):
    path, out = spec["path"], spec["out"]
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:  # not a notebook nbformat can read: report it, run the others
        emit({"event": "end", "notebook": i, "seconds": 0, "fatal": "not a notebook: " + one_line(e)})
        return
    client = NotebookClient(
        nb,
        kernel_name=cfg["kernel"],
        timeout=cfg.get("timeout", 600),
        startup_timeout=cfg.get("startup_timeout", 120),
        allow_errors=True,
        record_timing=True,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
    )
    start = time.monotonic()
    fatal = ""
    try:
        with client.setup_kernel():
            emit({"event": "start", "notebook": i, "kernel_seconds": time.monotonic() - start})
            pid = kernel_pid(client)
            for j, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                t0, cpu0 = time.monotonic(), cpu_seconds(pid)
                try:
                    client.execute_cell(cell, j)
                except (CellTimeoutError, DeadKernelError) as e:
                    fatal = "%s in cell %d: %s" % (type(e).__name__, j, e)
                outputs = cell.get("outputs", [])
                errors = [
                    {"ename": o.get("ename", ""), "evalue": o.get("evalue", ""), "traceback": o.get("traceback", [])}
                    for o in outputs
                    if o.get("output_type") == "error"
                ]
                if fatal:
                    errors.append({"ename": "fatal", "evalue": fatal, "traceback": []})
                emit({
                    "event": "cell",
                    "notebook": i,
                    "index": j,
                    "kind": cell.cell_type,
                    "seconds": time.monotonic() - t0,
                    "cpu_seconds": (cpu_seconds(pid) - cpu0) if cpu0 is not None and cpu_seconds(pid) is not None else None,
                    "tags": list(cell.get("metadata", {}).get("tags", [])),
                    "first_line": first_line(cell.source),
                    "errors": errors,
                    "stdout": text_of(outputs, "stdout")[-4000:],
                    "stderr": text_of(outputs, "stderr")[-4000:],
                    "error_text": html_text(outputs)[-4000:] if errors else "",
                    "text": display_text(outputs)[-4000:],
                    "displays": sum(1 for o in outputs if o.get("output_type") == "display_data"),
                })
                if fatal:
                    break
    except Exception as e:  # kernel failed to start, died, ...
        fatal = fatal or one_line(e)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    nbformat.write(nb, out)
    emit({"event": "end", "notebook": i, "seconds": time.monotonic() - start, "fatal": fatal})


def main():
    cfg = json.loads(sys.argv[1])
    for i, spec in enumerate(cfg["notebooks"]):
        run_one(i, spec, cfg)


if __name__ == "__main__":
    main()
