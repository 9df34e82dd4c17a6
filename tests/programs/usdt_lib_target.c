/* Calls into libbtcprobe.so. Usage: usdt_lib_target [iterations] (default 5, 20 ms apart). */
#include <stdlib.h>
#include <unistd.h>

int btc_lib_work(int x);

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 5;
    volatile int sink = 0;
    for (int i = 1; i <= n; i++) {
        sink += btc_lib_work(i);
        usleep(20000);
    }
    return sink == 0;
}
