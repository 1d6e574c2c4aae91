/* main.c - the uvhttpd binary: CLI into config, logging, server new/run/free, exit codes
 * (0 ok, 1 start-up failure, 2 bad arguments). */
#include <stdio.h>

#include "config.h"
#include "log.h"
#include "notify.h"
#include "process.h"
#include "server.h"

int main(int argc, char **argv)
{
    struct uvh_config cfg = uvh_config_defaults;
    struct uvh_server *server;
    char err[256];

    switch (uvh_config_parse(&cfg, argc, argv, stdout, err, sizeof(err))) {
    case UVH_CONFIG_EXIT:
        return 0;
    case UVH_CONFIG_BAD:
        fprintf(stderr, "uvhttpd: %s\n\n", err);
        uvh_config_usage(stderr);
        return 2;
    case UVH_CONFIG_RUN:
        break;
    }
    uvh_log_threshold = cfg.log_level;
    uvh_process_init();
    if (uvh_pool_set_size(cfg.threads) != 0) {
        fprintf(stderr, "uvhttpd: cannot set the threadpool size\n");
        return 1;
    }
    if (uvh_server_new(&cfg, &server) != 0) {
        fprintf(stderr, "uvhttpd: failed to start (see the log above)\n");
        return 1;
    }
    char ready[160]; /* Type=notify: the listener is bound, connections are accepted */
    snprintf(ready, sizeof(ready), "READY=1\nSTATUS=Serving %s", server->url);
    uvh_notify(ready);
    int rc = uvh_server_run(server);
    uvh_process_ignore_stop_signals();
    uvh_server_free(server);
    return rc == 0 ? 0 : 1;
}
