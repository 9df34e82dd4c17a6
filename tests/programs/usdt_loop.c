/* A process with a USDT probe named `loop`, for the manual's `usdt:*:loop` example: fires
 * btc:loop every 20 ms, [iterations] times (default 500, about 10 s). */
#include <stdlib.h>
#include <sys/sdt.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 500;
    for (int i = 0; i < n; i++) {
        STAP_PROBE1(btc, loop, i);
        usleep(20000);
    }
    return 0;
}
