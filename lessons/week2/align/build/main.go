// Command build trains one of the week-2 notebook's full runs and writes it as a shipped
// model (called by scripts/make-models.sh, block sft):
//
//	go run ./lessons/week2/align/build -task sft -base models/gpt-tiny-zh -out models/gpt-tiny-zh-sft
//	go run ./lessons/week2/align/build -task dpo -base models/gpt-tiny-zh-sft -out models/gpt-tiny-zh-dpo
//
// The recipes (data, settings) are lessons/week2/align's NotebookSFT and NotebookDPO, run by
// the same code as the notebook's align.SFT() and align.DPO(); the model directory gets
// train_result.json (align.Shipped) with the recipe hash those functions check. The
// training steps are reported on stderr; the answer-generation progress lines and a
// summary line go to stdout. Exit 2 on a usage error, 1 on a failure.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/divellm/divellm/lessons/week2/align"
	"github.com/divellm/divellm/llm"
)

func main() {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	task := fs.String("task", "", "sft or dpo")
	base := fs.String("base", "", "the checkpoint to start from (sft: models/gpt-tiny-zh; dpo: the SFT model)")
	out := fs.String("out", "", "the model directory to write: new, empty, or a checkpoint divellm wrote")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if (*task != "sft" && *task != "dpo") || *base == "" || *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: build -task sft|dpo -base DIR -out DIR")
		os.Exit(2)
	}
	command := fmt.Sprintf("go run ./lessons/week2/align/build -task %s -base %s -out %s", *task, *base, *out)
	progress := func(p llm.Progress) {
		if p.ValLoss == p.ValLoss { // measured at this step
			fmt.Fprintf(os.Stderr, "%s step %d/%d  loss %.4f  held-out %.4f  %s\n", *task, p.Step, p.Steps, p.Loss, p.ValLoss, p.Elapsed.Round(1e9))
		}
	}
	s, err := align.Build(*task, *base, *out, command, progress)
	if err != nil {
		fmt.Fprintln(os.Stderr, "build:", strings.TrimSpace(err.Error()))
		os.Exit(1)
	}
	r := s.Report
	fmt.Printf("%s: %d examples, %d steps in %.0f s; held-out loss %.4f -> %.4f", s.Task, r.Train, r.Steps, r.Seconds, r.EvalLossBefore, r.EvalLossAfter)
	if s.Task == "dpo" {
		fmt.Printf(", margin %.4f -> %.4f, positive %.3f", r.EvalMarginBefore, r.EvalMarginAfter, r.EvalAccuracyAfter)
	}
	fmt.Printf("; verdicts %v -> %v\n", s.Verdicts.Before, s.Verdicts.After)
}
