/* notify.c - sends sd_notify(3) messages: one datagram to the AF_UNIX socket in $NOTIFY_SOCKET
 * (a path, or "@name" for Linux's abstract namespace). No other systemd interface, and nothing
 * at all on Windows. */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "log.h"

#ifndef _WIN32
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: SIGPIPE is ignored by the binary anyway */
#endif
#endif

int uvh_notify(const char *state)
{
#ifdef _WIN32
    (void)state;
    return 1;
#else
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    size_t n = path ? strlen(path) : 0;

    if (n == 0)
        return 1;
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path)) {
        uvh_log(UVH_LOG_WARN, "NOTIFY_SOCKET=%s is not a socket path: systemd not notified", path);
        return UV_EINVAL;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, n);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract: the name is the bytes after the NUL, no terminator */
    else
        len++;
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0) {
        int err = -errno;
        uvh_log_uv(UVH_LOG_WARN, err, "Cannot notify systemd (%s)", state);
        return err;
    }
    /* MSG_DONTWAIT: a receiver that does not read must not stall the loop. */
    ssize_t sent = sendto(fd, state, strlen(state), MSG_DONTWAIT | MSG_NOSIGNAL,
                          (const struct sockaddr *)&sa, len);
    int err = sent < 0 ? -errno : 0;
    close(fd);
    if (err) {
        uvh_log_uv(UVH_LOG_WARN, err, "Cannot notify systemd at %s", path);
        return err;
    }
    if (uvh_log_threshold >= UVH_LOG_DEBUG) {
        char shown[256];
        snprintf(shown, sizeof(shown), "%s", state);
        for (char *p = shown; (p = strchr(p, '\n')) != NULL;)
            *p = ' ';
        uvh_log(UVH_LOG_DEBUG, "Notified systemd: %s", shown);
    }
    return 0;
#endif
}
