/* process.c - the process-wide settings of process.h, applied only when a program asks (main,
 * tests, fuzzer); nothing else in the library touches signals, mallopt or jansson's allocator. */
#include "process.h"

#include <signal.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "upload_handler.h"

void uvh_process_init(void)
{
#ifndef _WIN32
    signal(SIGPIPE, SIG_IGN); /* a peer that goes away mid-write is an error code, not a crash */
#endif
#ifdef __GLIBC__
    /* Large blocks (upload validation, file chunks) are mapped and unmapped, never kept in the
     * threadpool threads' arenas: glibc's adaptive threshold would keep each freed block, and
     * RSS would grow with the number of threads rather than with the work in flight. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
    uvh_upload_set_json_allocator();
}

void uvh_process_ignore_stop_signals(void)
{
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
}
