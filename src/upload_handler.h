/* upload_handler.h - POST /upload: a JSON body stored durably under ROOT/uploads/. */
#ifndef UVH_UPLOAD_HANDLER_H
#define UVH_UPLOAD_HANDLER_H

#include <stdbool.h>
#include <stddef.h>

#include "exchange.h"
#include "http_status.h"

/* At the end of the head: checks media type (415), Expect (417) and the declared length (413),
 * then takes the body (buffered in memory, flushed to a temporary file once it passes 32 KiB)
 * and sends 100 Continue when asked.
 * Returns UVH_STATUS_OK, or the status to refuse with before any body byte is read. */
enum uvh_status uvh_upload_begin(struct uvh_exchange *x);

/* After each read of the body: true when the buffer must reach the disk before more is read
 * (the connection stops reading; the upload calls uvh_exchange_resume_body later). */
bool uvh_upload_body_pause(struct uvh_exchange *x);

/* At the end of the message: validates and stores on the threadpool, then answers 201, 400 or
 * 500. Returns UVH_STATUS_NONE (it answers itself). */
enum uvh_status uvh_upload_finish(struct uvh_exchange *x);

/* The request is over (answered, or its connection closed): frees the upload; one that was
 * not stored has its temporary file removed first. */
void uvh_upload_release(struct uvh_exchange *x);

/* Process start-up (uvh_process_init), before any upload: jansson allocates through the arena
 * that lets a large invalid body's tree be unmapped at once after validation. */
void uvh_upload_set_json_allocator(void);

/* Fills buf with n random bytes: the suffix of an upload's name. */
typedef void (*uvh_upload_random_fn)(unsigned char *buf, size_t n);

/* Replaces the suffix's source (NULL: uv_random again); tests only, before a server starts,
 * to make two uploads draw the same name. */
void uvh_upload_set_random(uvh_upload_random_fn fn);

/* Server start-up: creates ROOT/uploads if it can (warning when it cannot, or when it is not a
 * directory), and removes temporary files an interrupted run left there. */
void uvh_upload_start(const struct uvh_env *env);

#endif
