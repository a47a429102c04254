/* The frames the sudo I/O plugin (sudo/sudo_auditdistd.c) sends the
 * collector over its unix socket, and the one-byte acknowledgement it waits
 * for. Plain C: included by the plugin and by the collector's decoder
 * (collector/sudo_frame.cpp). Every integer is big-endian. docs/sudo.md. */
#ifndef ADIST_SUDO_FRAMES_H
#define ADIST_SUDO_FRAMES_H

/* A frame: a 24-byte header, then `length` bytes of payload.
 *   0  u32 length of the payload (at most ADIST_SUDO_MAX_PAYLOAD)
 *   4  u8  type (enum adist_sudo_frame_type)
 *   5  u8  version (ADIST_SUDO_VERSION), 2 bytes zero
 *   8  u64 sequence: 0 for the open frame, then +1 per frame of the session
 *  16  u64 nanoseconds since the session's open (CLOCK_MONOTONIC) */
#define ADIST_SUDO_HEADER_SIZE 24
#define ADIST_SUDO_VERSION 1
#define ADIST_SUDO_MAX_PAYLOAD (1u << 20)
/* The plugin cuts a longer buffer into data frames of at most this much. */
#define ADIST_SUDO_MAX_DATA 65536u

enum adist_sudo_frame_type {
    /* Fields (u8 tag, u32 length, bytes), enum adist_sudo_open_tag. */
    ADIST_SUDO_OPEN = 1,
    /* u8 stream (enum adist_sudo_stream), u8 flags, u64 offset of the first
     * byte in that stream, u32 count, then the bytes (none when withheld). */
    ADIST_SUDO_DATA = 2,
    /* u32 lines, u32 columns. */
    ADIST_SUDO_WINSIZE = 3,
    /* u32 signal number (SIGTSTP, SIGSTOP..., SIGCONT on resume). */
    ADIST_SUDO_SUSPEND = 4,
    /* i32 exit status (a wait status), i32 error (errno of a failed exec). */
    ADIST_SUDO_CLOSE = 5
};

enum adist_sudo_open_tag {
    ADIST_SUDO_TAG_USER_INFO = 1,    /* one "key=value" of user_info */
    ADIST_SUDO_TAG_COMMAND_INFO = 2, /* one "key=value" of command_info */
    ADIST_SUDO_TAG_ARGV = 3,         /* one argument, in order */
    ADIST_SUDO_TAG_ENV = 4,          /* one "NAME=value" of the command's environment */
    ADIST_SUDO_TAG_START = 5,        /* u64 seconds, u32 nanoseconds: CLOCK_REALTIME at open */
    ADIST_SUDO_TAG_RUNAS_USER = 6,   /* the name of command_info's runas_uid */
    ADIST_SUDO_TAG_RUNAS_GROUP = 7   /* the name of command_info's runas_gid */
};

enum adist_sudo_stream {
    ADIST_SUDO_STDIN = 0,
    ADIST_SUDO_STDOUT = 1,
    ADIST_SUDO_STDERR = 2,
    ADIST_SUDO_TTYIN = 3,
    ADIST_SUDO_TTYOUT = 4,
    ADIST_SUDO_STREAMS = 5
};

/* DATA flags: the terminal's echo was off (a password being typed): the
 * count is kept, the bytes are not sent. */
#define ADIST_SUDO_WITHHELD 0x01

/* The acknowledgement: one byte per frame, in order. */
#define ADIST_SUDO_ACK_WRITTEN 'W' /* in the collector's file (write() returned) */
#define ADIST_SUDO_ACK_FAILED 'F'  /* not written: the plugin ends the command */

#endif
