//go:build unix

package main

import (
	"syscall"
	"time"
)

// processCPUTime returns the user+system CPU time this process has used so far, all
// threads together: what a benchmark step costs even when other processes share the cores.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
