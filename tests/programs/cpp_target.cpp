// C++ uprobe target: a method in a namespace, for demangled-name matching.
// Usage: cpp_target [iterations] (default 5, 20 ms apart).
#include <cstdlib>
#include <unistd.h>

namespace btc {
struct Counter {
    long total = 0;
    __attribute__((noinline)) long add(int x) { total += x; return total; }
};
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? std::atoi(argv[1]) : 5;
    btc::Counter c;
    for (int i = 1; i <= n; i++) {
        c.add(i);
        usleep(20000);
    }
    return c.total == 0;
}
