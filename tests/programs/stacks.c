// A test program for user stacks: it makes the getppid system call from btc_leaf, called by
// btc_middle, called by main. Built with frame pointers, so a user stack taken at the system
// call walks btc_leaf -> btc_middle -> main.
//
// Usage: stacks [ITERATIONS [MILLISECONDS_BETWEEN]]
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>

__attribute__((noinline)) long btc_leaf(void)
{
	long ret;
	// The system call instruction is here rather than in libc, so the stack starts here.
	__asm__ volatile("syscall" : "=a"(ret) : "0"((long)SYS_getppid) : "rcx", "r11", "memory");
	return ret;
}

__attribute__((noinline)) long btc_middle(void)
{
	return btc_leaf() + 1;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	int ms = argc > 2 ? atoi(argv[2]) : 0;
	for (int i = 0; i < n; i++) {
		btc_middle();
		if (ms > 0) {
			struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	printf("done\n");
	return 0;
}
