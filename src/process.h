/* process.h - the process-wide settings of the uvhttpd binary: signal dispositions, glibc's
 * malloc tuning and jansson's allocator. The server library never changes process state itself,
 * so a program that links it (a test, the fuzzer) keeps its own unless it asks for these. */
#ifndef UVH_PROCESS_H
#define UVH_PROCESS_H

/* Once, before the first server and before any other thread: SIGPIPE ignored (POSIX: a peer
 * that goes away mid-write is an error code, not a crash), glibc's mmap threshold fixed, and
 * jansson allocating through the upload validation arena (uvh_upload_set_json_allocator).
 * main() calls it; so do the integration harness and the fuzzer, which serve uploads like the
 * binary. Not thread-safe. */
void uvh_process_init(void);

/* After uvh_server_run has returned: SIGINT and SIGTERM ignored. Closing the server's signal
 * watchers gave them back their default action, and a late Ctrl+C must not kill a process that
 * is exiting cleanly. */
void uvh_process_ignore_stop_signals(void);

#endif
