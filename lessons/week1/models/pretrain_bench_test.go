package models

import (
	"syscall"
	"testing"
	"time"

	"github.com/divellm/divellm/llm"
)

// BenchmarkPretrainCell times week 1's pretraining cell (notebooks/src/week1-transformer.txt,
// section 9.4): NewPretrainRun with 300 steps and seed 1, then Run, as the notebook calls
// them (without the chart). It reports the cell's wall seconds, its CPU seconds (all
// threads: the work, whatever else runs on the machine) and the final losses, which a
// speed-up must leave unchanged.
// GOEXPERIMENT=simd go test -run '^$' -bench PretrainCell -benchtime 1x ./lessons/week1/models
func BenchmarkPretrainCell(b *testing.B) {
	for b.Loop() {
		c0, t0 := cpuTime(), time.Now()
		run, err := NewPretrainRun(PretrainConfig{Steps: 300, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		res, err := run.Run(func(p llm.Progress) {})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(t0).Seconds(), "cell-s")
		b.ReportMetric((cpuTime() - c0).Seconds(), "cpu-s")
		b.ReportMetric(res.Losses[len(res.Losses)-1], "last-loss")
		b.ReportMetric(res.ValLoss, "val-loss")
		_ = run.Close()
	}
}

// cpuTime is the CPU time (user + system) of this process so far, all threads.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
