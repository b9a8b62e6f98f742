// Package nbrun executes notebooks headlessly through the installed Go kernel, as a
// learner's "Run All" would, and reports per-cell timings and errors: it is what
// `divellm run` and the notebook tests in `make test` call.
//
// A notebook passes when no code cell produced an error output, except cells tagged
// raises-exception (the Jupyter convention for "this cell is meant to fail", used to show a
// panic or a shape error). Cells run on a fresh kernel, top to bottom, with no hidden state;
// GoNB compiles each cell into a new program, so a panicking cell leaves the kernel alive.
// A file that is not a notebook (not JSON, no cells, another nbformat, or one nbformat
// refuses) fails with one line ([CheckNotebook]) and the rest of the batch still runs.
//
// Why drive nbclient instead of speaking the Jupyter protocol from Go. A Go client would
// need ZeroMQ sockets (shell, iopub, control, stdin, heartbeat), HMAC-signed messages, and
// the ordering rules between execute_reply on shell and the idle status on iopub — all of
// which nbclient, the engine behind `jupyter nbconvert --execute` and papermill, already
// gets right and keeps right as the protocol evolves. Jupyter must be installed anyway for
// the kernelspec to mean anything, and nbclient ships with it (pip's jupyterlab, Debian's
// python3-nbclient). It also keeps a ZeroMQ library out of the project's go.mod, so cells
// that import divellm packages do not compile it. The Python half is one small file,
// nbrun.py, embedded in the binary and run with the first Python that can import nbclient
// ([FindPython]); it only executes cells and prints one JSON line per cell. Everything
// that decides (which errors count, output paths, timings, summaries) is Go, here.
//
// Build cache. A cold first cell compiles GoMLX and takes 17 s or more; later cells reuse
// the Go build cache and take about half a second. [WarmBuildCache] compiles the divellm
// packages that the notebooks import, with the kernel's environment, before the run, so a
// per-cell timeout measures the cell and not the first compile.
package nbrun
