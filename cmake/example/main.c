/* Runs the BPF object embedded at build time (hello_bpf.h, made by Btc.cmake from hello.bt):
 * writes it to a temporary file and executes `btc run FILE`, then removes the file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hello_bpf.h"

int main(void)
{
    const char *btc = getenv("BTC");
    if (btc == NULL || btc[0] == '\0')
        btc = BTC_PATH;

    char path[] = "/tmp/hello-bpf-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        fprintf(stderr, "hello_tracer: can't create a temporary file: %s\n", strerror(errno));
        return 1;
    }
    size_t done = 0;
    while (done < hello_bpf_len) {
        ssize_t n = write(fd, hello_bpf + done, hello_bpf_len - done);
        if (n < 0) {
            fprintf(stderr, "hello_tracer: can't write %s: %s\n", path, strerror(errno));
            close(fd);
            unlink(path);
            return 1;
        }
        done += (size_t)n;
    }
    close(fd);

    pid_t child = fork();
    if (child < 0) {
        fprintf(stderr, "hello_tracer: fork: %s\n", strerror(errno));
        unlink(path);
        return 1;
    }
    if (child == 0) {
        execl(btc, "btc", "run", path, (char *)NULL);
        fprintf(stderr, "hello_tracer: can't run %s: %s\n", btc, strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    unlink(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
