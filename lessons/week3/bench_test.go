package week3

import (
	"syscall"
	"testing"
	"time"

	"github.com/divellm/divellm/lessons"
)

// cpuSeconds is the process's user + system CPU time.
func cpuSeconds(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkWeek3Cold measures what the week 3 notebook computes from an empty .cache/week3:
// each cached study's computation, uncached, reported as CPU seconds (cpu-s/op, the
// process's user + system time, which a loaded machine does not inflate as much as wall
// time). Run with -benchtime 1x.
func BenchmarkWeek3Cold(b *testing.B) {
	stages := []struct {
		name string
		run  func() error
	}{
		{"GPTStudy", func() error {
			dir, err := lessons.ModelDir(lessons.GPTTinyZH)
			if err != nil {
				return err
			}
			_, err = studyGPT(lessons.GPTTinyZH, dir)
			return err
		}},
		{"EvalSetups", func() error {
			dir, err := lessons.ModelDir(lessons.GPTTinyZH)
			if err != nil {
				return err
			}
			_, err = evalSetups(dir)
			return err
		}},
		{"Classifier", func() error {
			m, src, err := AlertClassifier()
			if err != nil {
				return err
			}
			_, err = studyClassifier(m, src)
			return err
		}},
		{"QLoRA", func() error {
			dir, err := lessons.ModelDir(lessons.BERTTinyZH)
			if err != nil {
				return err
			}
			mk, err := modelKey(dir)
			if err != nil {
				return err
			}
			_, err = studyQLoRA(dir, QLoRARecipe(mk))
			return err
		}},
	}
	for _, s := range stages {
		b.Run(s.name, func(b *testing.B) {
			var cpu float64
			for b.Loop() {
				c0 := cpuSeconds(b)
				if err := s.run(); err != nil {
					b.Fatal(err)
				}
				cpu += cpuSeconds(b) - c0
			}
			b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
		})
	}
}
