/* Aggregate values (tests/suites/v020_aggregates.txt): agg_visit takes two boxes that differ in
 * one array element, a grid (a two-dimensional array) and a pair.
 * Usage: agg_target [iterations] (default 5, 20 ms apart). */
#include <stdlib.h>
#include <unistd.h>

struct agg_pair {
    int m;
    short n;
};

struct agg_box {
    int ids[4];
    struct agg_pair pairs[2];
    short tiny[1];
    long big;
};

struct agg_grid {
    int cells[2][3];
};

/* Globals in .data: every field is in memory when the probe reads it. */
struct agg_box agg_left = { { 1, 2, 3, 4 }, { { 5, -6 }, { 7, 8 } }, { -9 }, 10 };
struct agg_box agg_right = { { 1, 2, 3, 5 }, { { 5, -6 }, { 7, 8 } }, { -9 }, 11 };
struct agg_grid agg_cells = { { { 1, 2, 3 }, { 4, 5, 6 } } };
struct agg_pair agg_one = { -1, 2 };

__attribute__((noinline)) int agg_visit(struct agg_box *a, struct agg_box *b, struct agg_grid *g, struct agg_pair *p)
{
    return a->ids[0] + b->ids[3] + g->cells[1][2] + p->m;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 5;
    volatile int sink = 0;
    for (int i = 0; i < n; i++) {
        sink += agg_visit(&agg_left, &agg_right, &agg_cells, &agg_one);
        usleep(20000);
    }
    return sink == 0;
}
