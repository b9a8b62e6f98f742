// Command qlorabuild trains week 3's two QLoRA runs (rank-8 LoRA and a classifier head on
// bert-tiny-zh, float32 base and NF4 base) and ships their adapters as
// models/bert-tiny-zh-qlora-fp32 and models/bert-tiny-zh-qlora-nf4, so the notebook
// evaluates them instead of training (scripts/make-models.sh qlora).
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/divellm/divellm/lessons/week3"
)

func main() {
	out := flag.String("out", "models/"+week3.QLoRAModel, "output stem: writes STEM-fp32 and STEM-nf4")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "qlorabuild: no arguments expected")
		os.Exit(2)
	}
	cmd := "go run ./lessons/week3/qlorabuild " + strings.Join(os.Args[1:], " ")
	rows, err := week3.BuildQLoRA(*out, strings.TrimSpace(cmd))
	if err != nil {
		fmt.Fprintln(os.Stderr, "qlorabuild:", err)
		os.Exit(1)
	}
	for _, r := range rows {
		fmt.Printf("%s base: test %.2f%%, hard %.2f%%, %d trainable, %.0f s\n", r.Base, r.Test, r.Hard, r.Trainable, r.Seconds)
	}
}
