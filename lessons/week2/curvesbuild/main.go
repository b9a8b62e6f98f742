// Command curvesbuild records week 2's learning curves (pretrained vs scratch at every
// share of labels, exactly what week2.LearningCurves trains) into a model directory's
// curves.json, with the hash of the recipes, the base weights and the training data; the
// notebook then uses the recorded points and re-runs only the 5% pair live.
//
//	go run ./lessons/week2/curvesbuild -out models/bert-tiny-zh-alerts
//
// -out is the shipped classifier's directory (written by divellm finetune); the runs are
// cached in .cache/week2 like the notebook's.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/divellm/divellm/lessons/week2"
)

func main() {
	out := flag.String("out", "models/bert-tiny-zh-alerts", "model directory (written by divellm) that receives "+week2.CurvesFile)
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "curvesbuild: unexpected arguments; usage: curvesbuild -out DIR")
		os.Exit(2)
	}
	c, err := week2.BuildCurves(func(s string) { fmt.Fprintln(os.Stderr, "==", s) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "curvesbuild:", err)
		os.Exit(1)
	}
	if err := week2.WriteCurves(*out, c); err != nil {
		fmt.Fprintln(os.Stderr, "curvesbuild:", err)
		os.Exit(1)
	}
	for _, p := range c.Points {
		fmt.Fprintf(os.Stderr, "%s %g%%: n=%d epochs=%d steps=%d test F1=%.4f hard F1=%.4f %.0f s\n", p.Init, 100*p.Fraction, p.TrainN, p.Epochs, p.Steps, p.Test.MacroF1, p.Hard.MacroF1, p.Seconds)
	}
}
