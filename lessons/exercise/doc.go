// Package exercise is what every week's notebook exercises share: the result of checking a
// learner's answer, printed the same way in every notebook.
//
// An exercise in a notebook is three cells (see lessons/nbgen for the source format): the
// learner's cell holds a stub with a "// TODO" that compiles and returns zero values (nil
// slices, 0, ""); a check cell calls a week's checker (week1.CheckSoftmax, …), which returns
// a [Result]; the solution notebook has the stub replaced by a worked answer.
//
// A checker runs the learner's function on cases whose answers come from an independent
// reference, including the traps a plausible wrong answer falls into (large logits, −Inf,
// empty input). A result has one of three states:
//
//   - [NotDone]: every case came back empty (the stub is still there). The check prints one
//     friendly line with a hint — never a panic or an error output, so the learner's
//     notebook runs top to bottom before anything is filled in;
//   - [Failed]: some case is wrong; the report lists each case (✓ or ✗), shows the first
//     failure in full (input, expected, got) and a hint that names the likely mistake;
//   - [Passed]: every case matches.
//
// A panic in the learner's code is caught by [Protect] and reported as a failed case.
//
// The notebook tests (kernel/notebooktest) read the printed verdicts: in the learner
// notebook every check must say [NotDoneText], in the solution notebook [PassedText].
// The marks are ✓ (U+2713, in the Noto CJK fonts) and ✗ (U+2717, in DejaVu, which every
// fontconfig install has): no emoji, which render as empty boxes without an emoji font.
package exercise
