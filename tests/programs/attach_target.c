/* Target of the attach tests (tests/suites/v020_attach.txt).
 * Usage: attach_target MODE [N]
 *   calls N  after 300 ms, calls btc_wild_a, btc_wild_b, btc_wild_c and btc_nosize once, then
 *            btc_count(i) for i = 1..N in a tight loop (default 221), and exits.
 *   usdt N   hits the USDT probes btc_attach:"quoted" and btc_attach:tick in a tight loop, N
 *            times (0: until killed).
 *   watch N  N rounds, 50 ms apart, of btc_bump_0..btc_bump_5 on 6 new ints (each function
 *            writes its int): more addresses than x86-64 has breakpoint registers.
 * btc_nosize is hand-written assembly without a .size: its symbol has size 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>
#include <unistd.h>

__asm__(".text\n.globl btc_nosize\n.type btc_nosize, @function\nbtc_nosize:\n\tret\n");
void btc_nosize(void);

__attribute__((noinline)) int btc_wild_a(int x) { return x + 1; }
__attribute__((noinline)) int btc_wild_b(int x) { return x + 2; }
__attribute__((noinline)) int btc_wild_c(int x) { return x + 3; }
__attribute__((noinline)) int btc_count(int x) { return x - 111; }

#define BUMP(n) __attribute__((noinline)) void btc_bump_##n(int *p) { (*p)++; }
BUMP(0)
BUMP(1)
BUMP(2)
BUMP(3)
BUMP(4)
BUMP(5)

static void calls(int n)
{
    volatile int sink = 0;
    usleep(300000);
    sink += btc_wild_a(1) + btc_wild_b(2) + btc_wild_c(3);
    btc_nosize();
    for (int i = 1; i <= n; i++)
        sink += btc_count(i);
}

static void usdt(long n)
{
    for (long i = 1; n == 0 || i <= n; i++) {
        DTRACE_PROBE1(btc_attach, "quoted", i);
        DTRACE_PROBE1(btc_attach, tick, i);
    }
}

static void watch(int n)
{
    void (*bump[])(int *) = { btc_bump_0, btc_bump_1, btc_bump_2, btc_bump_3, btc_bump_4, btc_bump_5 };
    for (int round = 0; round < n; round++) {
        for (int k = 0; k < 6; k++)
            bump[k](calloc(1, sizeof(int)));
        usleep(50000);
    }
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "calls";
    int n = argc > 2 ? atoi(argv[2]) : -1;
    if (strcmp(mode, "usdt") == 0)
        usdt(n < 0 ? 0 : n);
    else if (strcmp(mode, "watch") == 0)
        watch(n < 0 ? 20 : n);
    else
        calls(n < 0 ? 221 : n);
    return 0;
}
