//go:build !unix

package main

import "time"

// processCPUTime is not measured on this platform: the CPU-time fields of `bench train`
// are 0.
func processCPUTime() time.Duration { return 0 }
