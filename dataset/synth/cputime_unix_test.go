//go:build unix

package synth

import "syscall"

// cpuSeconds is the user+system CPU time of this process: on a shared
// machine, images per CPU-second is steadier than per wall-second.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
