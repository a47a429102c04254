# auditdistd collector hook for zsh: sends each command line to the
# collector with `auditdistd log` before it runs (preexec). Installed as
# /usr/share/auditdistd/auditdistd-collector.zsh. Debian's zsh reads no
# drop-in directory: add to /etc/zsh/zshrc
#   [[ -r /usr/share/auditdistd/auditdistd-collector.zsh ]] && source /usr/share/auditdistd/auditdistd-collector.zsh
# A user can start a shell without it: auditd's execve rules are the
# authoritative record (docs/collector.md).
if [[ -o interactive && -z ${__adist_hooked-} ]]; then
    __adist_hooked=1
    __adist_bin=${ADIST_LOG_BIN:-/usr/sbin/auditdistd}
    [[ -x $__adist_bin ]] || __adist_bin=/usr/local/sbin/auditdistd
    __adist_preexec() {
        # $1: the line as typed (empty when history is off); $3: in full.
        [[ -S ${ADIST_LOG_SOCKET:-/run/auditdistd/collect.sock} ]] || return 0
        local line=${1:-$3}
        local -a socket
        [[ -n ${ADIST_LOG_SOCKET-} ]] && socket=(-s "$ADIST_LOG_SOCKET")
        "$__adist_bin" log "${socket[@]}" -- "$line" </dev/null >/dev/null 2>&1
    }
    autoload -Uz add-zsh-hook && add-zsh-hook preexec __adist_preexec
fi
