/* The plugin's side of the collector connection: connect (and check that
 * the listener is root), send one frame, wait for its acknowledgement.
 * Plain C, libc only; used by sudo_auditdistd.c. */
#ifndef ADIST_SUDO_FRAME_IO_H
#define ADIST_SUDO_FRAME_IO_H

#include <stddef.h>
#include <stdint.h>

struct adist_link {
    int fd;               /* -1 when not connected */
    uint64_t next_seq;    /* sequence of the next frame */
    uint64_t start_mono;  /* CLOCK_MONOTONIC at open, nanoseconds */
    int timeout_ms;       /* bound on each send and each acknowledgement */
};

/* A growable byte buffer for a payload. */
struct adist_buf {
    unsigned char *data;
    size_t size, capacity;
    int failed; /* an allocation failed or the payload went past its limit */
};

void adist_buf_put(struct adist_buf *b, const void *bytes, size_t n);
void adist_buf_u8(struct adist_buf *b, unsigned v);
void adist_buf_u32(struct adist_buf *b, uint32_t v);
void adist_buf_u64(struct adist_buf *b, uint64_t v);
/* One open-frame field: tag, length, bytes (cut to 64 KiB). */
void adist_buf_field(struct adist_buf *b, unsigned tag, const char *text, size_t n);
void adist_buf_free(struct adist_buf *b);

uint64_t adist_monotonic_ns(void);

/* Connects to `path`; returns NULL on success or why not. The listener must
 * be root (SO_PEERCRED), so no other user can stand in for the collector. */
const char *adist_link_open(struct adist_link *l, const char *path);

/* Sends a frame of `type` whose payload is `head` then `body` and waits
 * for its acknowledgement. Returns NULL when the collector wrote it, or why
 * not (the link is then closed). */
const char *adist_link_send(struct adist_link *l, unsigned type, const void *head,
                            size_t head_size, const void *body, size_t body_size);

void adist_link_close(struct adist_link *l);

#endif
