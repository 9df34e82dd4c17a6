/* A shared library with a USDT probe and a function, for usdt and uprobe tests on libraries. */
#include <sys/sdt.h>

__attribute__((noinline)) int btc_lib_work(int x)
{
    STAP_PROBE1(btclib, work, x);
    return x * 3;
}
