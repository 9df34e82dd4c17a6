/* uprobe/uretprobe target: calls btc_add(i, 100 + i) and btc_sub once a loop iteration.
 * Usage: uprobe_target [iterations] (default 5, 20 ms apart). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) int btc_add(int a, int b) { return a + b; }
__attribute__((noinline)) long btc_sub(long a, long b) { return a - b; }
__attribute__((noinline)) long btc_many(long a, long b, long c, long d, long e, long f, long g, long h)
{
    return a + b + c + d + e + f + g + h;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 5;
    volatile long sink = 0;
    for (int i = 1; i <= n; i++) {
        sink += btc_add(i, 100 + i);
        sink += btc_sub(i, 10);
        sink += btc_many(1, 2, 3, 4, 5, 6, 7, 8);
        usleep(20000);
    }
    return sink == 0;
}
