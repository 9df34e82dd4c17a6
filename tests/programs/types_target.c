/* Typed uprobe arguments (tests/suites/types.txt): btc_visit takes a pointer to a struct with a
 * nested struct, bitfields, an array and a pointer to another record, a string and a short.
 * Usage: types_target [iterations] (default 5, 20 ms apart). */
#include <stdlib.h>
#include <unistd.h>

struct btc_point {
    int x;
    int y;
};

struct btc_rec {
    char name[16];
    struct btc_point pt;
    unsigned int flags : 3;
    int level : 5;
    long values[3];
    struct btc_rec *next;
};

/* Globals in .data, written by the loader: every field is in memory when the probe reads it. */
struct btc_rec btc_first = { "first", { 3, 4 }, 5, -3, { 10, 20, 30 }, 0 };
struct btc_rec btc_second = { "second", { 7, 8 }, 1, 2, { 1, 2, 3 }, &btc_first };

__attribute__((noinline)) int btc_visit(struct btc_rec *r, const char *tag, unsigned short port)
{
    int sum = port + tag[0];
    for (; r; r = r->next)
        sum += r->pt.x + r->level + (int)r->values[2];
    return sum;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 5;
    /* On the stack, so the string is in memory before btc_visit first runs. */
    char tag[] = "hello";
    volatile int sink = 0;
    for (int i = 0; i < n; i++) {
        sink += btc_visit(&btc_second, tag, 8080);
        usleep(20000);
    }
    return sink == 0;
}
