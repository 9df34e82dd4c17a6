/* Watchpoint target: prints the address of a global and its PID, then writes the global every
 * 20 ms until it has done so [iterations] times (default 200). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

volatile long btc_watched;

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    printf("%p %d\n", (void *)&btc_watched, getpid());
    fflush(stdout);
    for (int i = 0; i < n; i++) {
        btc_watched = i;
        usleep(20000);
    }
    return 0;
}
