/* floor.c - the least a static-file server can do over HTTP/1.1 on Linux, to measure the floor
 * under the side-by-side benchmark (issue 12; tests/bench/compare.py --floor). Not a server:
 * one thread, epoll, no parser beyond finding the end of a head, no checks, no timeouts, no
 * Host, no limits. It loads the regular files directly in ROOT at start: a small one (at most
 * 64 KiB) is kept in memory with its two ready responses (keep-alive and close), a large one
 * stays open and goes out by sendfile(2) on the loop, as nginx does. An access line per request
 * (client, time, request line, status, bytes) is buffered and written once per loop turn.
 *
 * usage: floor PORT ROOT ACCESS_LOG [NOTSENT_LOWAT]
 * NOTSENT_LOWAT: TCP_NOTSENT_LOWAT in bytes on every connection (uvhttpd sets 128 KiB on a
 * socket carrying a file), to compare large transfers at the same setting; none by default.
 * Linux only; built by compare.py with `cc -O2`. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SMALL_MAX (64 * 1024)
#define MAX_FILES 64

struct file {
    char path[256]; /* "/name" */
    size_t path_len;
    int fd; /* large files */
    off_t size;
    char *resp[2]; /* small files: keep-alive and close responses, head and body */
    size_t resp_len[2];
    char head[2][256]; /* large files: the heads */
    size_t head_len[2];
};

struct conn {
    int fd;
    char in[4096];
    size_t in_len;
    const char *out; /* memory still to write */
    size_t out_len;
    int file_fd; /* sendfile still to do */
    off_t file_off, file_left;
    int close_after;
    int want_out; /* registered for EPOLLOUT */
    char peer[16];
};

static struct file files[MAX_FILES];
static int n_files;
static char logbuf[1 << 16];
static size_t log_len;
static int log_fd;
static char now_str[32];
static const char not_found[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static char *format_head(char *out, size_t cap, off_t size, int close, size_t *len)
{
    int n = snprintf(out, cap,
                     "HTTP/1.1 200 OK\r\nServer: floor\r\nContent-Type: "
                     "application/octet-stream\r\nContent-Length: %lld\r\n%s\r\n",
                     (long long)size, close ? "Connection: close\r\n" : "");
    *len = (size_t)n;
    return out;
}

static void load(const char *root)
{
    DIR *d = opendir(root);
    struct dirent *e;
    if (!d)
        die(root);
    while ((e = readdir(d)) && n_files < MAX_FILES) {
        char p[4096];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", root, e->d_name);
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode) || strlen(e->d_name) > 200)
            continue;
        struct file *f = &files[n_files++];
        f->path_len = (size_t)snprintf(f->path, sizeof(f->path), "/%s", e->d_name);
        f->size = st.st_size;
        f->fd = open(p, O_RDONLY | O_CLOEXEC);
        if (f->fd < 0)
            die(p);
        if (st.st_size > SMALL_MAX) {
            for (int c = 0; c < 2; c++)
                format_head(f->head[c], sizeof(f->head[c]), st.st_size, c, &f->head_len[c]);
            continue;
        }
        for (int c = 0; c < 2; c++) {
            char head[256];
            size_t hl;
            format_head(head, sizeof(head), st.st_size, c, &hl);
            f->resp[c] = malloc(hl + (size_t)st.st_size);
            memcpy(f->resp[c], head, hl);
            if (pread(f->fd, f->resp[c] + hl, (size_t)st.st_size, 0) != st.st_size)
                die(p);
            f->resp_len[c] = hl + (size_t)st.st_size;
        }
        close(f->fd);
        f->fd = -1;
    }
    closedir(d);
}

static void log_line(struct conn *c, const char *line, size_t line_len, int status, off_t bytes)
{
    if (log_len + line_len + 128 > sizeof(logbuf))
        return; /* a full buffer drops lines: never happens at one flush per loop turn */
    log_len += (size_t)snprintf(logbuf + log_len, sizeof(logbuf) - log_len,
                                "%s - - [%s] \"%.*s\" %d %lld\n", c->peer, now_str, (int)line_len,
                                line, status, (long long)bytes);
}

static void conn_close(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

/* Writes what is pending; 1: all written, 0: the socket is full, -1: an error. */
static int flush_out(struct conn *c)
{
    while (c->out_len > 0) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        c->out += n;
        c->out_len -= (size_t)n;
    }
    while (c->file_left > 0) {
        ssize_t n = sendfile(c->fd, c->file_fd, &c->file_off, (size_t)c->file_left);
        if (n <= 0)
            return n < 0 && errno == EAGAIN ? 0 : -1;
        c->file_left -= n;
    }
    return 1;
}

/* Answers the complete heads in the input while nothing is pending; -1 closes. */
static int serve(int ep, struct conn *c)
{
    for (;;) {
        if (c->out_len || c->file_left) {
            int r = flush_out(c);
            if (r < 0)
                return -1;
            if (c->want_out == r) { /* epoll_ctl only when the interest changes */
                struct epoll_event ev = {.events = r ? EPOLLIN : EPOLLOUT, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                c->want_out = !r;
            }
            if (!r)
                return 0;
            if (c->close_after)
                return -1;
        }
        char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (!end)
            return c->in_len == sizeof(c->in) ? -1 : 0;
        size_t head_len = (size_t)(end - c->in) + 4;
        char *eol = memchr(c->in, '\r', head_len);
        char *sp1 = memchr(c->in, ' ', (size_t)(eol - c->in));
        char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
        c->close_after = memmem(c->in, head_len, "\r\nConnection: close\r\n", 21) != NULL;
        struct file *f = NULL;
        for (int i = 0; sp2 && i < n_files; i++)
            if ((size_t)(sp2 - sp1 - 1) == files[i].path_len &&
                memcmp(sp1 + 1, files[i].path, files[i].path_len) == 0)
                f = &files[i];
        if (!f) {
            c->out = not_found;
            c->out_len = sizeof(not_found) - 1;
            log_line(c, c->in, (size_t)(eol - c->in), 404, 0);
        } else if (f->fd < 0) {
            c->out = f->resp[c->close_after];
            c->out_len = f->resp_len[c->close_after];
            log_line(c, c->in, (size_t)(eol - c->in), 200, f->size);
        } else {
            c->out = f->head[c->close_after];
            c->out_len = f->head_len[c->close_after];
            c->file_fd = f->fd;
            c->file_off = 0;
            c->file_left = f->size;
            log_line(c, c->in, (size_t)(eol - c->in), 200, f->size);
        }
        memmove(c->in, c->in + head_len, c->in_len - head_len);
        c->in_len -= head_len;
    }
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: floor PORT ROOT ACCESS_LOG [NOTSENT_LOWAT]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* sendfile(2) has no MSG_NOSIGNAL */
    load(argv[2]);
    log_fd = open(argv[3], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0)
        die(argv[3]);
    int one = 1, ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)atoi(argv[1])),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(ls, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* accepted sockets inherit it */
    int lowat = argc == 5 ? atoi(argv[4]) : 0;
    if (bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 4096) != 0)
        die("listen");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event evs[256];
    time_t last = 0;
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        time_t t = time(NULL);
        if (t != last) {
            struct tm tm;
            strftime(now_str, sizeof(now_str), "%d/%b/%Y:%H:%M:%S +0000", gmtime_r(&t, &tm));
            last = t;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                struct sockaddr_in pa;
                socklen_t pl = sizeof(pa);
                int fd;
                while ((fd = accept4(ls, (struct sockaddr *)&pa, &pl,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    c = calloc(1, sizeof(*c));
                    c->fd = fd;
                    if (lowat > 0)
                        setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
                    inet_ntop(AF_INET, &pa.sin_addr, c->peer, sizeof(c->peer));
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                    pl = sizeof(pa);
                }
                continue;
            }
            if (evs[i].events & EPOLLIN && !(c->out_len || c->file_left)) {
                ssize_t r = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
                if (r <= 0 && !(r < 0 && errno == EAGAIN)) {
                    conn_close(ep, c);
                    continue;
                }
                if (r > 0)
                    c->in_len += (size_t)r;
            }
            if (serve(ep, c) < 0)
                conn_close(ep, c);
        }
        if (log_len) {
            if (write(log_fd, logbuf, log_len) < 0)
                die("access log");
            log_len = 0;
        }
    }
}
