/* notify.h - readiness and state notifications to systemd (Type=notify) through the datagram
 * socket named by $NOTIFY_SOCKET, without libsystemd (sd_notify(3)'s protocol). */
#ifndef UVH_NOTIFY_H
#define UVH_NOTIFY_H

/* Sends "READY=1", "STOPPING=1", "RELOADING=1", ... (several as NAME=VALUE lines). Returns 0
 * when sent, 1 when there is no $NOTIFY_SOCKET (always on Windows), or a negative libuv error
 * (logged as a warning). Never blocks. */
int uvh_notify(const char *state);

#endif
