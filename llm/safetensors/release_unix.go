//go:build unix

package safetensors

import "syscall"

// madviseDontNeed tells the kernel the mapped pages of b will not be needed again, so
// they leave the process's resident set (the file stays intact: the mapping is read-only).
func madviseDontNeed(b []byte) error { return syscall.Madvise(b, syscall.MADV_DONTNEED) }
