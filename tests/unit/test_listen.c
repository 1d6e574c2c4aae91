/* test_listen.c - uvh_listen_open: on Linux every listener has SO_REUSEPORT, so a second socket
 * (another loop, or a second uvhttpd during a rolling restart) can listen on the same address,
 * while a socket without it still keeps the port to itself; accepted sockets inherit
 * TCP_NODELAY; TCP_DEFER_ACCEPT keeps a silent connection from accept(). */
#include <criterion/criterion.h>

#include <string.h>
#ifdef __linux__
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#include <uv.h>

#include "listen.h"

static void on_connection(uv_stream_t *server, int status)
{
    (void)server;
    (void)status;
}

static int bound_port(uv_tcp_t *t)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    cr_assert_eq(uv_tcp_getsockname(t, (struct sockaddr *)&ss, &len), 0);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void close_all(uv_loop_t *loop)
{
    uv_run(loop, UV_RUN_NOWAIT);
    cr_assert_eq(uv_loop_close(loop), 0, "a handle was left open");
}

Test(listen, two_listeners_share_a_port_where_the_kernel_balances)
{
    uv_loop_t loop;
    uv_tcp_t a, b;
    struct sockaddr_in addr;

    cr_assert_eq(uv_loop_init(&loop), 0);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    cr_assert_eq(uvh_listen_open(&loop, &a, (struct sockaddr *)&addr, 16, 0, on_connection), 0);
    int port = bound_port(&a);
    cr_assert_gt(port, 0);
    uv_ip4_addr("127.0.0.1", port, &addr);
    int rc = uvh_listen_open(&loop, &b, (struct sockaddr *)&addr, 16, 0, on_connection);
    if (uvh_listen_balances()) {
        cr_expect_eq(rc, 0, "a second listener on port %d: %s", port, uv_strerror(rc));
        cr_expect_eq(bound_port(&b), port);
    } else {
        cr_expect_eq(rc, UV_EADDRINUSE, "a second listener on port %d: %s", port, uv_strerror(rc));
    }
    uv_close((uv_handle_t *)&a, NULL);
    uv_close((uv_handle_t *)&b, NULL);
    close_all(&loop);
}

/* A socket bound without SO_REUSEPORT (another program) keeps the port: no listener joins it. */
Test(listen, a_port_held_without_reuseport_is_refused)
{
    uv_loop_t loop;
    uv_tcp_t holder, t;
    struct sockaddr_in addr;

    cr_assert_eq(uv_loop_init(&loop), 0);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    cr_assert_eq(uv_tcp_init(&loop, &holder), 0);
    cr_assert_eq(uv_tcp_bind(&holder, (struct sockaddr *)&addr, 0), 0);
    cr_assert_eq(uv_listen((uv_stream_t *)&holder, 16, on_connection), 0);
    uv_ip4_addr("127.0.0.1", bound_port(&holder), &addr);
    int rc = uvh_listen_open(&loop, &t, (struct sockaddr *)&addr, 16, 0, on_connection);
    cr_expect_eq(rc, UV_EADDRINUSE, "%s", uv_strerror(rc));
    uv_close((uv_handle_t *)&holder, NULL);
    uv_close((uv_handle_t *)&t, NULL);
    close_all(&loop);
}

#ifdef __linux__
static int listener_fd(uv_tcp_t *t)
{
    uv_os_fd_t fd;
    cr_assert_eq(uv_fileno((uv_handle_t *)t, &fd), 0);
    return fd;
}

static int connect_to(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    uv_ip4_addr("127.0.0.1", port, &a);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s", strerror(errno));
    return fd;
}

/* accept() on the non-blocking listener, retried for up to ms milliseconds; -1 if nothing. */
static int accept_within(int lfd, int ms)
{
    for (int waited = 0;; waited += 10) {
        int fd = accept(lfd, NULL, NULL);
        if (fd >= 0 || waited >= ms)
            return fd;
        cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "accept: %s", strerror(errno));
        uv_sleep(10);
    }
}

static int tcp_opt(int fd, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);
    cr_assert_eq(getsockopt(fd, IPPROTO_TCP, name, &v, &len), 0, "%s", strerror(errno));
    return v;
}

/* The server sets no TCP_NODELAY on the sockets it accepts on Linux: they must have it. */
Test(listen, accepted_sockets_inherit_nodelay)
{
    uv_loop_t loop;
    uv_tcp_t l;
    struct sockaddr_in addr;

    cr_assert(uvh_listen_inherits_nodelay());
    cr_assert_eq(uv_loop_init(&loop), 0);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    cr_assert_eq(uvh_listen_open(&loop, &l, (struct sockaddr *)&addr, 16, 0, on_connection), 0);
    int lfd = listener_fd(&l);
    cr_expect_eq(tcp_opt(lfd, TCP_DEFER_ACCEPT), 0, "deferral 0 leaves accept at once");
    int client = connect_to(bound_port(&l));
    int fd = accept_within(lfd, 1000);
    cr_assert_geq(fd, 0, "a connection that sent nothing was not accepted at once");
    cr_expect_eq(tcp_opt(fd, TCP_NODELAY), 1, "the accepted socket has Nagle on");
    close(fd);
    close(client);
    uv_close((uv_handle_t *)&l, NULL);
    close_all(&loop);
}

/* With a deferral a connection reaches accept() with its first bytes, not before. */
Test(listen, deferred_accept_waits_for_the_first_bytes)
{
    uv_loop_t loop;
    uv_tcp_t l;
    struct sockaddr_in addr;

    cr_assert_eq(uv_loop_init(&loop), 0);
    uv_ip4_addr("127.0.0.1", 0, &addr);
    cr_assert_eq(uvh_listen_open(&loop, &l, (struct sockaddr *)&addr, 16, 5, on_connection), 0);
    int lfd = listener_fd(&l);
    cr_expect_gt(tcp_opt(lfd, TCP_DEFER_ACCEPT), 0);
    int client = connect_to(bound_port(&l));
    cr_expect_lt(accept_within(lfd, 300), 0, "a silent connection was handed over");
    cr_assert_eq(write(client, "G", 1), 1);
    int fd = accept_within(lfd, 2000);
    cr_assert_geq(fd, 0, "the connection was not handed over with its first byte");
    char c = 0;
    cr_expect_eq(read(fd, &c, 1), 1);
    cr_expect_eq(c, 'G');
    close(fd);
    close(client);
    uv_close((uv_handle_t *)&l, NULL);
    close_all(&loop);
}
#endif
