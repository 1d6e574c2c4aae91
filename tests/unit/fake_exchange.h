/* fake_exchange.h - the exchange API without a connection, for handler and router unit tests:
 * every call is recorded instead of touching a socket. Link it instead of conn.c. */
#ifndef TH_FAKE_EXCHANGE_H
#define TH_FAKE_EXCHANGE_H

#include <stdbool.h>

#include "exchange.h"

/* What the code under test asked the exchange to do. */
struct fake_calls {
    int responded; /* uvh_exchange_respond or _respond_error */
    enum uvh_status last_status;
    int continues;       /* uvh_exchange_send_continue */
    int finished;        /* uvh_exchange_finish */
    int resumed;         /* uvh_exchange_resume_body */
    int send_files;      /* uvh_exchange_send_file (answers UV_ENOTSUP: the bytes are written) */
    const char *aborted; /* uvh_exchange_abort's reason */
};

extern struct fake_calls fake_calls;

/* An exchange for the request line METHOD PATH, with its environment (cfg may be NULL: the
 * defaults). Frees nothing; the test owns both. */
void fake_exchange_init(struct uvh_exchange *x, struct uvh_env *env, struct uvh_config *cfg,
                        enum uvh_method method, const char *path);

/* Sets a header the server acts on (value NULL: absent). */
void fake_exchange_header(struct uvh_exchange *x, enum uvh_hdr h, const char *value);

#endif
