/* The manual's wpfunc.c (watchpoint and asyncwatchpoint: `watchpoint:increment+arg1:4:w`),
 * bounded: it stops after [iterations] loops (default 10000, about 10 s) instead of never.
 * With [ints] > 1 (at most 16), the loops go round that many different ints, so increment()
 * gets a new address each time (for running out of breakpoint registers). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline))
void increment(__attribute__((unused)) int _, int *i)
{
  (*i)++;
}

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 10000;
  int ints = argc > 2 ? atoi(argv[2]) : 1;
  if (ints < 1 || ints > 16)
    ints = 1;
  int *all = calloc(16, sizeof(int));
  if (!all)
    return 1;
  for (int k = 0; n-- > 0; k = (k + 1) % ints)
  {
    int *i = &all[k];
    increment(0, i);
    (*i)++;
    usleep(1000);
  }
  return 0;
}
