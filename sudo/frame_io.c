/* The collector connection of the sudo I/O plugin (frame_io.h): framing,
 * blocking I/O bounded by SO_SNDTIMEO/SO_RCVTIMEO, MSG_NOSIGNAL (a dead
 * collector must not kill sudo with SIGPIPE), one acknowledgement byte per
 * frame. libc only. */
#define _GNU_SOURCE
#include "frame_io.h"
#include "sudo_frames.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

void adist_buf_put(struct adist_buf *b, const void *bytes, size_t n) {
    if (b->failed) return;
    if (b->size + n > ADIST_SUDO_MAX_PAYLOAD) {
        b->failed = 1;
        return;
    }
    if (b->size + n > b->capacity) {
        size_t want = b->capacity ? b->capacity * 2 : 4096;
        while (want < b->size + n) want *= 2;
        unsigned char *p = realloc(b->data, want);
        if (p == NULL) {
            b->failed = 1;
            return;
        }
        b->data = p;
        b->capacity = want;
    }
    memcpy(b->data + b->size, bytes, n);
    b->size += n;
}

void adist_buf_u8(struct adist_buf *b, unsigned v) {
    unsigned char c = (unsigned char)v;
    adist_buf_put(b, &c, 1);
}

void adist_buf_u32(struct adist_buf *b, uint32_t v) {
    unsigned char c[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    adist_buf_put(b, c, 4);
}

void adist_buf_u64(struct adist_buf *b, uint64_t v) {
    adist_buf_u32(b, (uint32_t)(v >> 32));
    adist_buf_u32(b, (uint32_t)v);
}

void adist_buf_field(struct adist_buf *b, unsigned tag, const char *text, size_t n) {
    if (n > 65536) n = 65536;
    adist_buf_u8(b, tag);
    adist_buf_u32(b, (uint32_t)n);
    adist_buf_put(b, text, n);
}

void adist_buf_free(struct adist_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

uint64_t adist_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *adist_link_open(struct adist_link *l, const char *path) {
    struct sockaddr_un sa;
    if (strlen(path) >= sizeof sa.sun_path) return "the socket path is too long";
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    /* CLOEXEC: the command, running as another user, must not inherit it. */
    l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l->fd < 0) return "cannot create a socket";
    if (connect(l->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        adist_link_close(l);
        return "cannot connect to the auditdistd collector";
    }
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(l->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != 0) {
        adist_link_close(l);
        return "the collector socket is not served by root";
    }
    /* Every send and every wait for an acknowledgement is bounded by the
     * kernel (EAGAIN after the timeout): no poll() before each call. */
    struct timeval tv = {l->timeout_ms / 1000, (l->timeout_ms % 1000) * 1000};
    if (setsockopt(l->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
        adist_link_close(l);
        return "cannot set the socket's timeouts";
    }
    l->next_seq = 0;
    l->start_mono = adist_monotonic_ns();
    return NULL;
}

/* Writes the whole iovec array (updated in place); each sendmsg waits at
 * most the timeout (SO_SNDTIMEO), EINTR retried a bounded number of times. */
static int send_all(struct adist_link *l, struct iovec *iov, int count) {
    for (int rounds = 0; count > 0 && rounds < 100000; rounds++) {
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = iov;
        m.msg_iovlen = (size_t)count;
        ssize_t n = sendmsg(l->fd, &m, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1; /* EAGAIN: the timeout passed */
        while (count > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            count--;
        }
        if (count > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return count == 0 ? 0 : -1;
}

static void put_be(unsigned char *p, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; i--) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
}

const char *adist_link_send(struct adist_link *l, unsigned type, const void *head,
                            size_t head_size, const void *body, size_t body_size) {
    if (l->fd < 0) return "not connected to the collector";
    if (head_size + body_size > ADIST_SUDO_MAX_PAYLOAD) return "frame too large";
    unsigned char header[ADIST_SUDO_HEADER_SIZE] = {0};
    put_be(header, head_size + body_size, 4);
    header[4] = (unsigned char)type;
    header[5] = ADIST_SUDO_VERSION;
    put_be(header + 8, l->next_seq, 8);
    put_be(header + 16, adist_monotonic_ns() - l->start_mono, 8);
    struct iovec iov[3] = {{header, sizeof header},
                           {(void *)head, head_size},
                           {(void *)body, body_size}};
    if (send_all(l, iov, 3) != 0) {
        adist_link_close(l);
        return "cannot send to the collector";
    }
    char ack = 0;
    ssize_t n = -1;
    for (int tries = 0; tries < 100 && n < 0; tries++) {
        n = recv(l->fd, &ack, 1, 0); /* waits at most the timeout (SO_RCVTIMEO) */
        if (n < 0 && errno != EINTR) break;
    }
    if (n != 1 || ack != ADIST_SUDO_ACK_WRITTEN) {
        adist_link_close(l);
        return n == 1 ? "the collector could not write the session" : "no acknowledgement from the collector";
    }
    l->next_seq++;
    return NULL;
}

void adist_link_close(struct adist_link *l) {
    if (l->fd >= 0) close(l->fd);
    l->fd = -1;
}
