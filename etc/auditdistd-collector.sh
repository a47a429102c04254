# auditdistd collector hook for bash: sends each command line to the
# collector with `auditdistd log` as it starts (PS0 is expanded after a
# line is read, before it runs). Installed as
# /usr/share/auditdistd/auditdistd-collector.sh, linked from /etc/profile.d
# (login shells); source it from /etc/bash.bashrc for the others. A user can start a shell without it:
# auditd's execve rules are the authoritative record (docs/collector.md).
if [ -n "${BASH_VERSION-}" ] && [ -z "${__adist_hooked-}" ]; then
    case $- in
    *i*)
        __adist_hooked=1
        __adist_bin=${ADIST_LOG_BIN:-/usr/sbin/auditdistd}
        [ -x "$__adist_bin" ] || __adist_bin=/usr/local/sbin/auditdistd
        # The history number at the last prompt: a line that did not enter
        # the history (HISTCONTROL=ignorespace, HISTIGNORE) keeps it.
        __adist_mark() { __adist_seen=$(HISTTIMEFORMAT= builtin history 1); }
        # Runs in PS0's subshell: nothing it sets reaches the shell.
        __adist_send() {
            local line
            # No collector on this host: nothing to send, no process started.
            [ -S "${ADIST_LOG_SOCKET:-/run/auditdistd/collect.sock}" ] || return 0
            line=$(HISTTIMEFORMAT= builtin history 1)
            if [ -z "$line" ] || [ "$line" = "${__adist_seen-}" ]; then
                line='# auditdistd: a command that did not enter the shell history'
            else
                line=${line#"${line%%[![:space:]]*}"} # leading blanks
                line=${line#*[[:space:]][[:space:]]}  # the history number
            fi
            "$__adist_bin" log ${ADIST_LOG_SOCKET:+-s "$ADIST_LOG_SOCKET"} -- "$line" \
                </dev/null >/dev/null 2>&1
        }
        PS0="${PS0-}"'$(__adist_send)'
        PROMPT_COMMAND="__adist_mark${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
        ;;
    esac
fi
