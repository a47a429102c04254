/* auditdistd's sudo I/O plugin: every session's start, terminal and pipe
 * I/O, window changes, suspends and exit status go to the auditdistd
 * collector's socket, and sudo passes nothing on before the collector has
 * acknowledged it (docs/sudo.md). Loaded by sudo from /etc/sudo.conf:
 *   Plugin sudo_auditdistd sudo_auditdistd.so socket=/run/auditdistd/sudo.sock
 * Runs inside setuid sudo: plain C, libc only, no state beyond one session. */
#define _GNU_SOURCE
#include "frame_io.h"
#include "sudo_frames.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sudo_plugin.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/auditdistd/sudo.sock"

static struct adist_link link_ = {-1, 0, 0, 10000};
static sudo_printf_t print_;
static uint64_t offsets_[ADIST_SUDO_STREAMS];
static int ended_;   /* the collector went away mid-session */
static int pty_fd_ = -2; /* the pty leader sudo reads the command from; -2: not looked up */
static int has_errstr_;  /* sudo's API is 1.15 or later: errstr may be set */

static void set_error(const char **errstr, const char *error) {
    if (has_errstr_ && errstr != NULL) *errstr = error;
}

static const char *option(char *const list[], const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; list != NULL && list[i] != NULL; i++)
        if (strncmp(list[i], name, n) == 0 && list[i][n] == '=') return list[i] + n + 1;
    return NULL;
}

static void add_list(struct adist_buf *b, unsigned tag, char *const list[]) {
    for (size_t i = 0; list != NULL && list[i] != NULL; i++)
        adist_buf_field(b, tag, list[i], strlen(list[i]));
}

/* Names of the runas ids: the receiver that rebuilds the log cannot look
 * them up in this host's user database. */
static void add_runas_names(struct adist_buf *b, char *const command_info[]) {
    const char *uid = option(command_info, "runas_uid");
    const char *gid = option(command_info, "runas_gid");
    struct passwd *pw = uid ? getpwuid((uid_t)strtoul(uid, NULL, 10)) : NULL;
    struct group *gr = gid ? getgrgid((gid_t)strtoul(gid, NULL, 10)) : NULL;
    if (pw != NULL) adist_buf_field(b, ADIST_SUDO_TAG_RUNAS_USER, pw->pw_name, strlen(pw->pw_name));
    if (gr != NULL) adist_buf_field(b, ADIST_SUDO_TAG_RUNAS_GROUP, gr->gr_name, strlen(gr->gr_name));
}

static const char *send_open(char *const user_info[], char *const command_info[], int argc,
                             char *const argv[], char *const user_env[]) {
    struct adist_buf b = {0};
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    adist_buf_u8(&b, ADIST_SUDO_TAG_START);
    adist_buf_u32(&b, 12);
    adist_buf_u64(&b, (uint64_t)now.tv_sec);
    adist_buf_u32(&b, (uint32_t)now.tv_nsec);
    add_list(&b, ADIST_SUDO_TAG_USER_INFO, user_info);
    add_list(&b, ADIST_SUDO_TAG_COMMAND_INFO, command_info);
    for (int i = 0; i < argc; i++) adist_buf_field(&b, ADIST_SUDO_TAG_ARGV, argv[i], strlen(argv[i]));
    add_runas_names(&b, command_info);
    /* The environment last: what does not fit is left out, the rest stays. */
    for (size_t i = 0; user_env != NULL && user_env[i] != NULL; i++) {
        size_t n = strlen(user_env[i]);
        if (b.size + n + 5 > ADIST_SUDO_MAX_PAYLOAD) break;
        adist_buf_field(&b, ADIST_SUDO_TAG_ENV, user_env[i], n);
    }
    const char *error = b.failed ? "the session start does not fit in a frame" : NULL;
    if (error == NULL) error = adist_link_send(&link_, ADIST_SUDO_OPEN, b.data, b.size, NULL, 0);
    adist_buf_free(&b);
    return error;
}

static int io_open(unsigned int version, sudo_conv_t conversation, sudo_printf_t printf_fn,
                   char *const settings[], char *const user_info[], char *const command_info[],
                   int argc, char *const argv[], char *const user_env[],
                   char *const plugin_options[], const char **errstr) {
    (void)conversation;
    has_errstr_ = SUDO_API_VERSION_GET_MAJOR(version) == 1 && SUDO_API_VERSION_GET_MINOR(version) >= 15;
    (void)settings;
    print_ = printf_fn;
    /* One session per sudo process; reset anyway, so that nothing of an
     * earlier session can carry over into this one. */
    memset(offsets_, 0, sizeof offsets_);
    ended_ = 0;
    pty_fd_ = -2;
    if (command_info == NULL || argc == 0) return 1; /* sudo -V: no session */
    const char *path = option(plugin_options, "socket");
    const char *fail_open = option(plugin_options, "fail_open");
    const char *timeout = option(plugin_options, "timeout");
    int open_anyway = fail_open != NULL && strcmp(fail_open, "yes") == 0;
    if (timeout != NULL && atoi(timeout) > 0 && atoi(timeout) <= 3600)
        link_.timeout_ms = atoi(timeout) * 1000;
    const char *error = adist_link_open(&link_, path ? path : DEFAULT_SOCKET);
    if (error == NULL) error = send_open(user_info, command_info, argc, argv, user_env);
    if (error == NULL) return 1;
    if (open_anyway) {
        if (print_) print_(SUDO_CONV_ERROR_MSG, "sudo_auditdistd: %s; not recorded (fail_open)\n", error);
        return 0; /* no I/O comes to us; the command runs */
    }
    if (print_) print_(SUDO_CONV_ERROR_MSG, "sudo_auditdistd: %s; refusing to run the command\n", error);
    set_error(errstr, error);
    return -1;
}

static void io_close(int exit_status, int error) {
    if (link_.fd >= 0) {
        unsigned char p[8] = {(unsigned char)(exit_status >> 24), (unsigned char)(exit_status >> 16),
                              (unsigned char)(exit_status >> 8), (unsigned char)exit_status,
                              (unsigned char)(error >> 24), (unsigned char)(error >> 16),
                              (unsigned char)(error >> 8), (unsigned char)error};
        adist_link_send(&link_, ADIST_SUDO_CLOSE, p, sizeof p, NULL, 0);
    }
    adist_link_close(&link_);
}

static int io_version(int verbose) {
    (void)verbose;
    if (print_) print_(SUDO_CONV_INFO_MSG, "auditdistd sudo I/O plugin (frames version %d)\n", ADIST_SUDO_VERSION);
    return 1;
}

/* The pty leader sudo holds: a descriptor on /dev/ptmx (major 5, minor 2).
 * On Linux, tcgetattr on the leader reports the follower's modes, those the
 * command set: echo off while it reads a password. */
static int find_pty_leader(void) {
    for (int fd = 0; fd < 256; fd++) {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 5 &&
            minor(st.st_rdev) == 2)
            return fd;
    }
    return -1;
}

static int echo_off(void) {
    if (pty_fd_ == -2) pty_fd_ = find_pty_leader();
    struct termios t;
    return pty_fd_ >= 0 && tcgetattr(pty_fd_, &t) == 0 && (t.c_lflag & ECHO) == 0;
}

/* One buffer of a stream, in data frames of at most ADIST_SUDO_MAX_DATA. */
static int send_data(unsigned stream, const char *buf, unsigned int len, int withheld,
                     const char **errstr) {
    if (ended_) return -1;
    unsigned int done = 0;
    do {
        unsigned int n = len - done > ADIST_SUDO_MAX_DATA ? ADIST_SUDO_MAX_DATA : len - done;
        unsigned char head[14];
        uint64_t off = offsets_[stream];
        head[0] = (unsigned char)stream;
        head[1] = withheld ? ADIST_SUDO_WITHHELD : 0;
        for (int i = 0; i < 8; i++) head[2 + i] = (unsigned char)(off >> (56 - 8 * i));
        for (int i = 0; i < 4; i++) head[10 + i] = (unsigned char)(n >> (24 - 8 * i));
        const char *error = adist_link_send(&link_, ADIST_SUDO_DATA, head, sizeof head,
                                            buf + done, withheld ? 0 : n);
        if (error != NULL) {
            ended_ = 1;
            if (print_) print_(SUDO_CONV_ERROR_MSG, "\r\nsudo_auditdistd: %s; ending the command\r\n", error);
            set_error(errstr, error);
            return -1;
        }
        offsets_[stream] += n;
        done += n;
    } while (done < len);
    return 1;
}

static int log_ttyin(const char *buf, unsigned int len, const char **errstr) {
    return send_data(ADIST_SUDO_TTYIN, buf, len, echo_off(), errstr);
}
static int log_ttyout(const char *buf, unsigned int len, const char **errstr) {
    return send_data(ADIST_SUDO_TTYOUT, buf, len, 0, errstr);
}
static int log_stdin(const char *buf, unsigned int len, const char **errstr) {
    return send_data(ADIST_SUDO_STDIN, buf, len, 0, errstr);
}
static int log_stdout(const char *buf, unsigned int len, const char **errstr) {
    return send_data(ADIST_SUDO_STDOUT, buf, len, 0, errstr);
}
static int log_stderr(const char *buf, unsigned int len, const char **errstr) {
    return send_data(ADIST_SUDO_STDERR, buf, len, 0, errstr);
}

static int send_pair(unsigned type, uint32_t a, uint32_t b, size_t size, const char **errstr) {
    if (ended_) return -1;
    unsigned char p[8];
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(a >> (24 - 8 * i));
        p[4 + i] = (unsigned char)(b >> (24 - 8 * i));
    }
    const char *error = adist_link_send(&link_, type, p, size, NULL, 0);
    if (error == NULL) return 1;
    ended_ = 1;
    set_error(errstr, error);
    return -1;
}

static int change_winsize(unsigned int lines, unsigned int cols, const char **errstr) {
    return send_pair(ADIST_SUDO_WINSIZE, lines, cols, 8, errstr);
}

static int log_suspend(int signo, const char **errstr) {
    return send_pair(ADIST_SUDO_SUSPEND, (uint32_t)signo, 0, 4, errstr);
}

__attribute__((visibility("default"))) struct io_plugin sudo_auditdistd = {
    SUDO_IO_PLUGIN, SUDO_API_VERSION, io_open, io_close, io_version,
    log_ttyin, log_ttyout, log_stdin, log_stdout, log_stderr,
    NULL, NULL, change_winsize, log_suspend, NULL};
