package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// sample is one point of the memory curve.
type sample struct {
	at    time.Duration // since the load started
	rssKB int64         // VmRSS
	cpu   float64       // the process's CPU time over the interval before, in % of one core
	goMem goMemory      // the Go runtime's own account, from the service's /metrics
}

// goMemory is what the service's Go runtime says of its memory; zero when
// it could not be read.
type goMemory struct {
	heapInUse int64 // bytes in heap spans in use (go_memstats_heap_inuse_bytes)
	sys       int64 // bytes the runtime obtained from the system (go_memstats_sys_bytes)
}

// clockTicks is the unit of CPU times in /proc/PID/stat: USER_HZ, 100 on
// every Linux architecture Go runs on.
const clockTicks = 100

// procStat reads a process's resident memory (kB) and CPU time (user and
// system) from /proc.
func procStat(pid int) (rssKB int64, cpu time.Duration, err error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("memory of pid %d: %w", pid, err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				rssKB, err = strconv.ParseInt(f[0], 10, 64)
			}
			break
		}
	}
	if err != nil {
		return 0, 0, fmt.Errorf("VmRSS of pid %d: %w", pid, err)
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("CPU time of pid %d: %w", pid, err)
	}
	// The command name in parentheses may hold spaces; the fields after
	// it start with the state (field 3): utime and stime are 14 and 15.
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("CPU time of pid %d: %d fields in /proc/%d/stat", pid, len(f), pid)
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("CPU time of pid %d: %w", pid, err)
		}
		ticks += n
	}
	return rssKB, time.Duration(ticks) * time.Second / clockTicks, nil
}

// memoryCurve samples pid every second until ctx ends, keeping the peak,
// and a point of the curve every interval (the first at zero, the last
// when ctx ends), with what probe says of the Go runtime's memory at each
// point, passing each point to onPoint as it is taken. It fails only if
// the process cannot be read at the start.
func memoryCurve(ctx context.Context, pid int, interval time.Duration, probe func() goMemory, onPoint func(sample)) (curve []sample, peakKB int64, err error) {
	start := time.Now()
	rss, cpu, err := procStat(pid)
	if err != nil {
		return nil, 0, err
	}
	curve, peakKB = []sample{{rssKB: rss, goMem: probe()}}, rss
	lastAt, lastCPU := time.Duration(0), cpu
	point := func(at time.Duration, rss int64, cpu time.Duration) {
		pct := 0.0
		if at > lastAt {
			pct = 100 * float64(cpu-lastCPU) / float64(at-lastAt)
		}
		curve = append(curve, sample{at: at, rssKB: rss, cpu: pct, goMem: probe()})
		onPoint(curve[len(curve)-1])
		lastAt, lastCPU = at, cpu
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	next := interval
	for {
		select {
		case <-ctx.Done():
			if rss, cpu, err := procStat(pid); err == nil {
				peakKB = max(peakKB, rss)
				if at := time.Since(start); at-lastAt >= time.Second {
					point(at, rss, cpu)
				}
			}
			return curve, peakKB, nil
		case <-tick.C:
		}
		rss, cpu, err := procStat(pid)
		if err != nil { // the process is gone: the load's requests say why
			return curve, peakKB, nil
		}
		peakKB = max(peakKB, rss)
		if at := time.Since(start); at >= next-interval/20 {
			point(at, rss, cpu)
			next += interval
		}
	}
}
