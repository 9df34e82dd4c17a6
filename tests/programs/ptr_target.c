/* Pointer targets (tests/suites/v020_pointers.txt): an array of structs walked through a
 * pointer, a table of int pointers read through a pointer to pointer, and a struct with a byte
 * array and a flexible array member. Everything lives in .data, so every probe read finds it in
 * memory. Usage: ptr_target [iterations] (default 5, 20 ms apart). */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

struct btc_cell {
    uint32_t id;
    uint64_t weight;
};

struct btc_cell btc_cells[6] = { { 1, 10 }, { 2, 20 }, { 3, 30 }, { 4, 40 }, { 5, 50 }, { 6, 60 } };

int btc_a = 111, btc_b = 222, btc_c = 333;
int *btc_table[3] = { &btc_a, &btc_b, &btc_c };

struct btc_tagged {
    int kind;
    unsigned char tag[4];
    int n;
    int items[];
};

/* A flexible array member initialised statically (a GNU C extension). */
struct btc_tagged btc_tagged = { 7, { 0x11, 0x22, 0x33, 0x44 }, 3, { 5, 6, 7 } };

__attribute__((noinline)) uint64_t btc_walk(struct btc_cell *c, unsigned long n)
{
    uint64_t sum = 0;
    while (n--)
        sum += (c++)->weight;
    return sum;
}

__attribute__((noinline)) int btc_deref(int **pp)
{
    return **pp + *pp[2];
}

__attribute__((noinline)) int btc_tag(struct btc_tagged *t)
{
    return t->tag[0] + t->items[t->n - 1];
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 5;
    volatile uint64_t sink = 0;
    for (int i = 0; i < n; i++) {
        sink += btc_walk(btc_cells, 6);
        sink += btc_deref(btc_table);
        sink += btc_tag(&btc_tagged);
        usleep(20000);
    }
    return sink == 0;
}
