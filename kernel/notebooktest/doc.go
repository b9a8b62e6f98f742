// Package notebooktest holds the notebook tests of `make test` (it has no code of its own):
//
//   - every notebooks/*.ipynb (the learner notebooks) and notebooks/solutions/*.ipynb (the
//     solution notebooks, made from the same sources by lessons/nbgen) runs top to bottom on
//     a fresh "Go (divellm)" kernel with no unexpected error (cells tagged raises-exception
//     may fail);
//   - every exercise check cell (tagged exercise-check) prints "not done yet"
//     (exercise.NotDoneText) in a learner notebook, where the exercise is still a stub, and
//     "all passed" (exercise.PassedText) in a solution notebook;
//   - a panicking cell leaves the kernel alive: the next cell still runs;
//   - an untagged failing cell makes the run fail (the check above can fail);
//   - the kernel speaks the Jupyter protocol: jupyter_kernel_test's kernel_info, stdout,
//     stderr, display_data, error, completion and inspect tests (testdata/test_gonb_kernel.py;
//     is_complete is not enabled: GoNB ignores it and the test would hang).
//
// The tests install a copy of the kernelspec (with GoNB's --raw_error, for readable logs)
// into a temporary Jupyter data dir, using the same code as `divellm kernel install`, and
// run the notebooks with kernel/nbrun. They need Jupyter's Python clients (nbclient,
// jupyter_kernel_test) and the pinned tools in bin/kernel (built by `divellm kernel
// install`); without them they are skipped with a message saying what to install — unless
// DIVELLM_REQUIRE_NOTEBOOKS=1 (set by .ci/run), which turns the skip into a failure.
//
// No test here depends on the machine's speed: the conformance suite first runs a warm-up
// cell that compiles what its samples import and waits for every reply and for the
// kernel's idle status (guards of minutes, not jupyter_kernel_test's 15 s). To check that
// on a fast machine, give the kernel an empty build cache, so that its first compile is
// as slow as on a busy 2-core one: DIVELLM_TEST_GOCACHE=$(mktemp -d) go test -run
// Conformance ./kernel/notebooktest.
//
// TestNotebooks runs only with DIVELLM_NOTEBOOKS=1: `make test` runs it as a phase of its
// own (make test-notebooks) after `go test ./...`, so the unit tests stay fast and the
// notebooks get their own, longer timeout.
//
// To add a notebook to the tests, add its source to notebooks/src and run
// `go run ./lessons/nbgen`: every *.ipynb in notebooks/ and notebooks/solutions/ is run.
package notebooktest
