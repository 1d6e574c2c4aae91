/* test_listen.c - uvh_listen_open: on Linux every listener has SO_REUSEPORT, so a second socket
 * (another loop, or a second uvhttpd during a rolling restart) can listen on the same address,
 * while a socket without it still keeps the port to itself. */
#include <criterion/criterion.h>

#include <string.h>

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
    cr_assert_eq(uvh_listen_open(&loop, &a, (struct sockaddr *)&addr, 16, on_connection), 0);
    int port = bound_port(&a);
    cr_assert_gt(port, 0);
    uv_ip4_addr("127.0.0.1", port, &addr);
    int rc = uvh_listen_open(&loop, &b, (struct sockaddr *)&addr, 16, on_connection);
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
    int rc = uvh_listen_open(&loop, &t, (struct sockaddr *)&addr, 16, on_connection);
    cr_expect_eq(rc, UV_EADDRINUSE, "%s", uv_strerror(rc));
    uv_close((uv_handle_t *)&holder, NULL);
    uv_close((uv_handle_t *)&t, NULL);
    close_all(&loop);
}
