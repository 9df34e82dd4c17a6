// A C++ test program for demangling: the getppid system call is made from btc::leaf(int), so
// user stacks show the mangled name _ZN3btc4leafEi or its demangled form.
//
// Usage: cxx_stacks [ITERATIONS [MILLISECONDS_BETWEEN]]
#include <cstdio>
#include <cstdlib>
#include <sys/syscall.h>
#include <time.h>

namespace btc {
__attribute__((noinline)) long leaf(int x)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "0"((long)SYS_getppid) : "rcx", "r11", "memory");
	return ret + x;
}
} // namespace btc

int main(int argc, char **argv)
{
	int n = argc > 1 ? std::atoi(argv[1]) : 1;
	int ms = argc > 2 ? std::atoi(argv[2]) : 0;
	for (int i = 0; i < n; i++) {
		btc::leaf(i);
		if (ms > 0) {
			struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
			nanosleep(&ts, nullptr);
		}
	}
	std::printf("done\n");
	return 0;
}
