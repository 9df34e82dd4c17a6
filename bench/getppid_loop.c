/* getppid_loop: calls getppid() N times (default 5,000,000) through syscall(2), so no libc
 * caching can hide a call, and prints "N calls in T ns (P ns/call)". The workload of the
 * per-event overhead benchmark. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 5000000;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    printf("%ld calls in %lld ns (%.1f ns/call)\n", n, ns, n > 0 ? (double)ns / n : 0.0);
    return 0;
}
