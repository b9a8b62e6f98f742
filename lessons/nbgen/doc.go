// Command nbgen writes every week's notebooks from their plain-text sources, in two
// variants, so notebooks are reviewed and edited as text and diffs stay readable:
//
//	notebooks/src/NAME.txt  →  notebooks/NAME.ipynb            the learner's notebook
//	                        →  notebooks/solutions/NAME.ipynb  the solution notebook (CI runs both)
//
// Run from anywhere in the checkout:
//
//	go run ./lessons/nbgen          # rewrite every generated notebook
//	go run ./lessons/nbgen -check   # exit 1, naming the stale files, if any is out of date
//
// Exit codes: 0 done, 1 a source is invalid or (with -check) a notebook is stale, 2 bad flags.
//
// # Source format
//
// A source is a sequence of cells. Each cell starts with a marker line of its own,
// "-- KIND [TAG...] --", and runs to the next marker. Text before the first marker must be
// blank. Leading and trailing blank lines of a cell are dropped.
//
//	-- markdown --              prose: Markdown with $…$ LaTeX. Chinese first, English term
//	                            once in parentheses.
//	-- code [TAG...] --         a Go cell as GoNB runs it: declarations (import, func, type,
//	                            var, const), then optionally a line "%%" and statements, the
//	                            body of main. TAGs become Jupyter cell tags, e.g.
//	                            "raises-exception" for a cell whose error is the point.
//	-- exercise [TAG...] --     the learner's cell: a stub that compiles, holds "// TODO" and
//	                            returns zero values (nil, 0, ""), so the check below it
//	                            reports "not done yet" instead of crashing.
//	-- solution --              the worked answer to the exercise right above it. It must
//	                            declare the same top-level names as the stub, and replaces
//	                            the stub in the solution notebook; learners never see it.
//	-- note --                  a note for the notebook's authors, in neither notebook: a
//	                            section still to write, why a cell is the way it is.
//	-- check [TAG...] --        a code cell that checks the exercise above it (it calls a
//	                            checker returning lessons/exercise.Result and shows it). It is
//	                            tagged "exercise-check": the notebook tests require it to
//	                            print exercise.NotDoneText in the learner notebook and
//	                            exercise.PassedText in the solution notebook.
//
// Every exercise has exactly one solution right after it and a check cell after that
// (before the next exercise). An open question with a self-check is an exercise too: the
// stub is an empty prediction, the check reveals the measured answer once it is filled in.
//
// Example:
//
//	-- markdown --
//	### 练习 1：softmax (exercise)
//	-- exercise --
//	// mySoftmax returns softmax(x) in a new slice.
//	func mySoftmax(x []float64) []float64 {
//		// TODO: subtract max(x), exponentiate, divide by the sum.
//		return nil
//	}
//	-- solution --
//	func mySoftmax(x []float64) []float64 {
//		…
//	}
//	-- check --
//	%%
//	week1.CheckSoftmax(mySoftmax).Show()
//
// # What is checked
//
// Generating fails (exit 1, file and cell named) when a marker is unknown, a code cell does
// not parse as GoNB code (prose pasted into a code cell), an exercise lacks "// TODO", its
// solution or its check, a solution still holds "// TODO" or declares other names than its
// stub. `go test ./lessons/nbgen` also type-checks both variants of every notebook as one Go
// program against the current packages (each cell's main body becomes a function), so an
// API change elsewhere fails a test rather than a Jupyter run, and fails when a committed
// notebook is stale.
//
// The solution notebook gets a banner in its first cell; both notebooks record their
// variant and source in the notebook metadata ("divellm": {"variant", "source"}).
package main
