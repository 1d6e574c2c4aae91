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
    /* Large blocks (upload validation, file chunks, and the 38 KiB a request in progress holds
     * with its 21 KiB file state) are mapped and unmapped, never kept in the heap or the
     * threadpool threads' arenas: glibc's adaptive threshold would keep each freed block, and
     * RSS would grow with the number of threads, or with the busiest moment's requests, rather
     * than with the work in flight. The heap then holds the idle connections themselves. */
    mallopt(M_MMAP_THRESHOLD, 16 * 1024);
#endif
    uvh_upload_set_json_allocator();
}

void uvh_process_ignore_stop_signals(void)
{
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
}
