#ifndef CLEVEECYCLES_H
#define CLEVEECYCLES_H

#include <stdint.h>

// The CPU's free-running counter, read without a fence: the time stamp counter on x86_64,
// the virtual counter on arm64. Swift has no intrinsic for either. Returns 0 elsewhere.
// Callers decide whether the counter is trustworthy (the kernel's clocksource says so).
static inline uint64_t levee_read_cycles(void) {
#if defined(__x86_64__)
    return __builtin_ia32_rdtsc();
#elif defined(__aarch64__)
    uint64_t value;
    __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(value));
    return value;
#else
    return 0;
#endif
}

// A spin-wait hint (x86 `pause`, arm64 `yield`): used between retries of a contended
// compare-and-swap, so that the winning core keeps the cache line for a moment.
static inline void levee_cpu_relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
