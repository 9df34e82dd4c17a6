/* C preamble types over user memory (tests/suites/v020_ctypes.txt): ct_visit takes a pointer
 * to a record of pointer, char, byte, int, short and long arrays, and small nested structs.
 * Usage: ctypes_target [iterations] (default 3, 20 ms apart). */
#include <stdlib.h>
#include <unistd.h>

struct ct_rec {
    struct { int vals[2]; } pair;
    struct { int one; } single;
    const char *name;
    char tag[6];
    unsigned char bytes[5];
    int ints[3];
    unsigned short shorts[2];
    long longs[2];
};

/* In .data, written by the loader: every byte is in memory when the probe reads it. */
struct ct_rec ct_global = {
    { { 11, 12 } }, { 13 }, "named", "tagme", { 'w', 'o', 'r', 'l', 'd' },
    { 0x01020304, -2, 7 }, { 0xabcd, 9 }, { 0x1122334455667788L, -1 },
};

__attribute__((noinline)) int ct_visit(struct ct_rec *r)
{
    return r->ints[2] + r->single.one;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 3;
    /* Touch the name's page, so the probe can read it. */
    volatile int sink = ct_global.name[0];
    for (int i = 0; i < n; i++) {
        sink += ct_visit(&ct_global);
        usleep(20000);
    }
    return sink == 0;
}
