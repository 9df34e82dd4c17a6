/* timecmd: runs a command N times and reports, over the runs, the time from launch until the
 * first stdout line containing PATTERN, the time until the command exits, and its peak
 * resident memory (max RSS, from wait4).
 *
 *   timecmd RUNS PATTERN COMMAND [ARGS...]
 *
 * Prints one line: "first_ms min/median/max  total_ms min/median/max  maxrss_kb median".
 * PATTERN "-" means no pattern: only the time to exit is measured (and printed). Exits 1 if a run fails
 * or never prints PATTERN. The command's stdout is read through a pipe
 * (what a user piping the output sees); its stderr is discarded. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One run: returns 0 and fills the three measurements, or -1. */
static int run_once(char **argv, const char *pattern, double *first, double *total, long *rss)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    double start = now_ms();
    pid_t child = fork();
    if (child < 0)
        return -1;
    if (child == 0) {
        dup2(fds[1], 1);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 2);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    char buf[65536];
    size_t used = 0;
    *first = -1;
    for (;;) {
        ssize_t n = read(fds[0], buf + used, sizeof(buf) - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
        buf[used] = '\0';
        if (*first < 0 && strstr(buf, pattern) != NULL)
            *first = now_ms() - start;
        if (used > sizeof(buf) / 2) { /* keep the tail, where a match can still start */
            size_t keep = strlen(pattern);
            memmove(buf, buf + used - keep, keep);
            used = keep;
        }
    }
    close(fds[0]);
    int status;
    struct rusage ru;
    while (wait4(child, &status, 0, &ru) < 0) {
        if (errno != EINTR)
            return -1;
    }
    *total = now_ms() - start;
    *rss = ru.ru_maxrss;
    if (strcmp(pattern, "-") == 0)
        *first = *total;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || *first < 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: timecmd RUNS PATTERN COMMAND [ARGS...]\n");
        return 2;
    }
    int runs = atoi(argv[1]);
    if (runs < 1)
        runs = 1;
    const char *pattern = argv[2];
    double *first = calloc(runs, sizeof(double)), *total = calloc(runs, sizeof(double));
    double *rss = calloc(runs, sizeof(double));
    if (!first || !total || !rss)
        return 1;
    for (int i = 0; i < runs; i++) {
        long kb;
        if (run_once(argv + 3, pattern, &first[i], &total[i], &kb) < 0) {
            fprintf(stderr, "timecmd: run %d of %s failed or never printed \"%s\"\n", i + 1, argv[3], pattern);
            return 1;
        }
        rss[i] = (double)kb;
    }
    qsort(first, runs, sizeof(double), cmp_double);
    qsort(total, runs, sizeof(double), cmp_double);
    qsort(rss, runs, sizeof(double), cmp_double);
    if (strcmp(pattern, "-") != 0)
        printf("first_ms %.2f/%.2f/%.2f  ", first[0], first[runs / 2], first[runs - 1]);
    printf("total_ms %.2f/%.2f/%.2f  maxrss_kb %.0f\n", total[0], total[runs / 2], total[runs - 1], rss[runs / 2]);
    return 0;
}
