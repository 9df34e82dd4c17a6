/* USDT target: probes with register, memory and constant arguments, and a probe guarded by a
 * semaphore (it fires only while a tracer has incremented the semaphore).
 * Usage: usdt_target [iterations] (default 5, 20 ms apart). */
#define _SDT_HAS_SEMAPHORES 1
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>
#include <unistd.h>

/* With _SDT_HAS_SEMAPHORES every probe has a semaphore; only btc:guarded checks its own. */
#define BTC_SEMAPHORE(name) unsigned short name __attribute__((unused)) __attribute__((section(".probes")))
BTC_SEMAPHORE(btc_tick_semaphore);
BTC_SEMAPHORE(btc_constant_semaphore);
BTC_SEMAPHORE(btc_guarded_semaphore);
BTC_SEMAPHORE(btc_mem_semaphore);

static long counter;

/* Unoptimised, so the arguments are memory operands such as -4@-20(%rbp). */
__attribute__((noinline, optimize("O0"))) static void mem_probe(int v)
{
    int local = v * 3;
    long big = 1L << 40;
    STAP_PROBE2(btc, mem, local, big);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 5;
    for (int i = 1; i <= n; i++) {
        char word[16];
        counter += 10;
        snprintf(word, sizeof word, "tick-%d", i);
        STAP_PROBE3(btc, tick, i, counter, word);
        STAP_PROBE1(btc, constant, 7);
        mem_probe(i);
        if (btc_guarded_semaphore)
            STAP_PROBE1(btc, guarded, i * 2);
        usleep(20000);
    }
    return 0;
}
