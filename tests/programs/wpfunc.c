/* The manual's wpfunc.c (watchpoint and asyncwatchpoint: `watchpoint:increment+arg1:4:w`),
 * bounded: it stops after [iterations] loops (default 10000, about 10 s) instead of never. */
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
  int *i = malloc(sizeof(int));
  if (!i)
    return 1;
  *i = 0;
  while (n-- > 0)
  {
    increment(0, i);
    (*i)++;
    usleep(1000);
  }
  return 0;
}
