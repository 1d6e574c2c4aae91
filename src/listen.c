/* listen.c - owns how a listening socket is made: on Linux the socket is created here with
 * SO_REUSEPORT set before bind (libuv 1.44 has no flag for it), TCP_NODELAY for accepted sockets
 * to inherit, and TCP_DEFER_ACCEPT, then handed to libuv; elsewhere libuv binds it. It never
 * accepts: the server's loops do. */
#ifdef __linux__
#define _DEFAULT_SOURCE /* SO_REUSEPORT is not POSIX */
#endif
#include "listen.h"

#include <string.h>
#ifdef _WIN32
#include <winsock2.h>
#else
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

bool uvh_listen_balances(void)
{
#ifdef __linux__
    return true;
#else
    return false;
#endif
}

#ifdef __linux__
static socklen_t addr_len(const struct sockaddr *addr)
{
    return addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* The socket libuv would make for uv_tcp_bind (SO_REUSEADDR, non-blocking, close-on-exec),
 * plus SO_REUSEPORT: bound by hand, since the option must be set before bind. Linux copies a
 * listener's TCP_NODELAY to the sockets it accepts (h2o relies on the same), which saves a
 * setsockopt per connection. TCP_DEFER_ACCEPT: the kernel hands over a connection when its
 * first bytes arrive, or after about defer_s seconds without any (then it is accepted as
 * usual), so accepting and reading the request take one wake-up instead of two. */
static int open_reuseport(const struct sockaddr *addr, unsigned defer_s)
{
    int one = 1, defer = (int)defer_s;
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        (defer > 0 && setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer)) != 0) ||
        bind(fd, addr, addr_len(addr)) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}
#endif

bool uvh_listen_inherits_nodelay(void)
{
#ifdef __linux__
    return true;
#else
    return false;
#endif
}

int uvh_listen_open(uv_loop_t *loop, uv_tcp_t *tcp, const struct sockaddr *addr, int backlog,
                    unsigned defer_s, uv_connection_cb cb)
{
    int rc = uv_tcp_init(loop, tcp);
    if (rc != 0)
        return rc;
#ifdef __linux__
    int fd = open_reuseport(addr, defer_s);
    if (fd < 0)
        return fd; /* -errno is libuv's error code on Unix */
    rc = uv_tcp_open(tcp, fd);
    if (rc != 0) {
        close(fd);
        return rc;
    }
#else
    (void)defer_s;
    rc = uv_tcp_bind(tcp, addr, 0);
    if (rc != 0)
        return rc;
#endif
    return uv_listen((uv_stream_t *)tcp, backlog, cb);
}

int uvh_listen_detach(uv_tcp_t *client, uv_os_sock_t *out)
{
    uv_os_fd_t fd;
    int rc = uv_fileno((const uv_handle_t *)client, &fd);
    if (rc != 0)
        return rc;
#ifdef _WIN32
    /* libuv's own hand-off over an IPC pipe does the same (uv__tcp_xfer_export/import). */
    WSAPROTOCOL_INFOW info;
    if (WSADuplicateSocketW((SOCKET)fd, GetCurrentProcessId(), &info) != 0)
        return uv_translate_sys_error(WSAGetLastError());
    SOCKET s = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0,
                          WSA_FLAG_OVERLAPPED);
    if (s == INVALID_SOCKET)
        return uv_translate_sys_error(WSAGetLastError());
    *out = s;
#else
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0)
        return -errno;
    *out = dup_fd;
#endif
    return 0;
}
