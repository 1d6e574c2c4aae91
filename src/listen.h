/* listen.h - the listening TCP sockets: one per loop, all on one address. */
#ifndef UVH_LISTEN_H
#define UVH_LISTEN_H

#include <stdbool.h>

#include <uv.h>

/* True where several sockets may listen on one address and the kernel spreads new connections
 * between them (Linux SO_REUSEPORT): each loop then accepts on its own socket. Elsewhere one
 * loop accepts and hands connections to the others. */
bool uvh_listen_balances(void);

/* True where the sockets accepted on a listener opened here already have TCP_NODELAY (Linux):
 * the caller then need not set it on each. */
bool uvh_listen_inherits_nodelay(void);

/* Initialises tcp on loop as a socket listening on addr with cb for new connections. On Linux
 * the socket has SO_REUSEPORT, always (also with one loop): other loops of this process, and a
 * second uvhttpd started on the same port by a rolling restart, may listen there too. It also
 * has TCP_NODELAY, and with defer_s > 0 TCP_DEFER_ACCEPT: a connection is reported once its
 * client has sent something, or after about defer_s seconds of silence (ignored elsewhere than
 * Linux). Returns 0 or a negative libuv error; tcp is initialised either way (uv_close it). */
int uvh_listen_open(uv_loop_t *loop, uv_tcp_t *tcp, const struct sockaddr *addr, int backlog,
                    unsigned defer_s, uv_connection_cb cb);

/* Takes the socket of a client accepted on one loop so that another loop can adopt it with
 * uv_tcp_open (a uv_tcp_t cannot move between loops): a duplicate descriptor (dup on Unix,
 * WSADuplicateSocketW on Windows) in *out, the caller then closes the handle. Returns 0 or a
 * negative libuv error. */
int uvh_listen_detach(uv_tcp_t *client, uv_os_sock_t *out);

#endif
