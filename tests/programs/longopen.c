// Opens a path of 1000 characters (which doesn't exist) three times, for BPFTRACE_STRLEN tests.
#include <unistd.h>
#include <string.h>
#include <fcntl.h>
int main() { char p[1100]; memset(p, 'a', 1000); p[0]='/'; p[1000]=0; usleep(300000); for (int i=0;i<3;i++) { open(p, O_RDONLY); usleep(100000);} return 0; }
