// core-go: the Go peer of Benchmarks/peers/core.sh — golang.org/x/time/rate used per key the
// usual way (a map of *rate.Limiter behind a sync.Mutex, Allow() per request), with the same
// workloads, keys, key counts and threads as levee-core-peer.
//
// Prints `RESULT go <workload> <threads> <decisions per wall-clock second>` and
// `CPU go <workload> <threads> <decisions per CPU-second of the process>` lines (medians of
// -repeat runs).
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"
)

type keyed struct {
	mu       sync.Mutex
	limiters map[uint32]*rate.Limiter
	limit    rate.Limit
	burst    int
}

func (k *keyed) allow(key uint32) bool {
	k.mu.Lock()
	lim, ok := k.limiters[key]
	if !ok {
		lim = rate.NewLimiter(k.limit, k.burst)
		k.limiters[key] = lim
	}
	k.mu.Unlock()
	return lim.Allow()
}

func newKeyed(limit rate.Limit, burst int) *keyed {
	return &keyed{limiters: make(map[uint32]*rate.Limiter), limit: limit, burst: burst}
}

// xorshift64*, identical to the Swift peer's generator.
type xorshift struct{ state uint64 }

func (x *xorshift) next() uint64 {
	x.state ^= x.state >> 12
	x.state ^= x.state << 25
	x.state ^= x.state >> 27
	return x.state * 2685821657736338717
}

func cpuSeconds() float64 {
	var usage syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	return float64(usage.Utime.Sec+usage.Stime.Sec) + float64(usage.Utime.Usec+usage.Stime.Usec)/1e6
}

// measure runs body on `threads` goroutines for `seconds`; returns decisions per CPU-second
// of the process and decisions per wall second.
func measure(threads int, seconds float64, body func(thread int, stop *atomic.Bool) int) (float64, float64) {
	var stop atomic.Bool
	var wg sync.WaitGroup
	counts := make([]int, threads)
	cpu0 := cpuSeconds()
	start := time.Now()
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			counts[t] = body(t, &stop)
		}(t)
	}
	time.Sleep(time.Duration(seconds * float64(time.Second)))
	stop.Store(true)
	wg.Wait()
	wall := time.Since(start).Seconds()
	cpu := cpuSeconds() - cpu0
	total := 0
	for _, c := range counts {
		total += c
	}
	return float64(total) / cpu, float64(total) / wall
}

func median(values []float64) float64 {
	sort.Float64s(values)
	return values[len(values)/2]
}

const batch = 1024

func main() {
	seconds := flag.Float64("seconds", 1.0, "seconds per run")
	repeats := flag.Int("repeat", 3, "runs per workload (median)")
	keys := flag.Int("keys", 1000000, "distinct keys")
	threadList := flag.String("threads", "1,2", "thread counts")
	flag.Parse()
	var threadCounts []int
	for _, field := range strings.Split(*threadList, ",") {
		n, err := strconv.Atoi(field)
		if err != nil {
			panic(err)
		}
		threadCounts = append(threadCounts, n)
	}
	runtime.GOMAXPROCS(runtime.NumCPU())

	report := func(workload string, threads int, run func() (float64, float64)) {
		var cpuRates, wallRates []float64
		for r := 0; r < *repeats; r++ {
			c, w := run()
			cpuRates = append(cpuRates, c)
			wallRates = append(wallRates, w)
		}
		fmt.Printf("RESULT go %s %d %d\n", workload, threads, int64(median(wallRates)))
		fmt.Printf("CPU go %s %d %d\n", workload, threads, int64(median(cpuRates)))
	}

	for _, threads := range threadCounts {
		// One key, every decision admitted (1e9/s, burst 1e6), as in the Swift peer.
		report("one-key", threads, func() (float64, float64) {
			table := newKeyed(rate.Limit(1e9), 1000000)
			return measure(threads, *seconds, func(_ int, stop *atomic.Bool) int {
				count := 0
				for !stop.Load() {
					for i := 0; i < batch; i++ {
						if table.allow(0x0A000001) {
							count++
						}
					}
				}
				return count
			})
		})
		// One key flooded at 100/s: nearly every decision denied.
		report("one-key-flood", threads, func() (float64, float64) {
			table := newKeyed(rate.Limit(100), 100)
			return measure(threads, *seconds, func(_ int, stop *atomic.Bool) int {
				count := 0
				for !stop.Load() {
					for i := 0; i < batch; i++ {
						table.allow(0x0A000001)
						count++
					}
				}
				return count
			})
		})
	}

	n := *keys
	for _, threads := range threadCounts {
		var insertRates, cpuRates, wallRates []float64
		for r := 0; r < *repeats; r++ {
			table := newKeyed(rate.Limit(100), 100)
			perThread := (n + threads - 1) / threads
			cpu0 := cpuSeconds()
			start := time.Now()
			var wg sync.WaitGroup
			for t := 0; t < threads; t++ {
				wg.Add(1)
				go func(t int) {
					defer wg.Done()
					end := (t + 1) * perThread
					if end > n {
						end = n
					}
					for i := t * perThread; i < end; i++ {
						table.allow(0x0A000000 | uint32(i))
					}
				}(t)
			}
			wg.Wait()
			insertRates = append(insertRates, float64(n)/time.Since(start).Seconds())
			_ = cpu0
			if r == 0 && threads == threadCounts[len(threadCounts)-1] {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&after)
				table2 := newKeyed(rate.Limit(100), 100)
				runtime.GC()
				runtime.ReadMemStats(&before)
				for i := 0; i < n; i++ {
					table2.allow(0x0A000000 | uint32(i))
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				fmt.Printf("RESULT go bytes-per-key 0 %.1f\n", float64(after.HeapAlloc-before.HeapAlloc)/float64(n))
				runtime.KeepAlive(table2)
			}
			c, w := measure(threads, *seconds, func(thread int, stop *atomic.Bool) int {
				random := xorshift{state: 0x9E3779B97F4A7C15 + uint64(thread)*7919}
				count := 0
				for !stop.Load() {
					for i := 0; i < batch; i++ {
						index := uint32(((random.next() >> 32) * uint64(n)) >> 32)
						if table.allow(0x0A000000 | index) {
							count++
						}
					}
				}
				return count
			})
			cpuRates = append(cpuRates, c)
			wallRates = append(wallRates, w)
		}
		fmt.Printf("RESULT go insert-1M %d %d\n", threads, int64(median(insertRates)))
		fmt.Printf("RESULT go keyed-1M %d %d\n", threads, int64(median(wallRates)))
		fmt.Printf("CPU go keyed-1M %d %d\n", threads, int64(median(cpuRates)))
	}
}
