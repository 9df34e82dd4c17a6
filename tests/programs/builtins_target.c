// Target of tests/suites/v020_builtins.txt: globals of each integer size for uaddr(), a
// function with typed arguments for `args` used as a value, and a leaf called through a
// middle function for user stacks. Built twice: with DWARF (builtins_target) and without any
// debug information (builtins_symtab), both at fixed addresses (-no-pie), where uaddr() and
// the symbol table give the addresses the process uses.
#include <stdlib.h>

signed char btc_g8 = -5;
short btc_g16 = 0x1234;
int btc_g32 = -2;
long btc_g64 = 0x1122334455667788L;

struct btc_pair {
    int a;
    char b;
};

__attribute__((noinline)) long btc_args_fn(int *n, char c, long big, struct btc_pair *p)
{
    return *n + c + big + p->a;
}

__attribute__((noinline)) int btc_leaf(int x)
{
    return x * 2;
}

__attribute__((noinline)) int btc_middle(int x)
{
    return btc_leaf(x) + 1;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 7;
    struct btc_pair p = { 3, 'q' };
    btc_args_fn(&n, 'x', -9, &p);
    return btc_middle(n) == 2 * n + 1 ? 0 : 1;
}
