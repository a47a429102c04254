// `auditdistd log [-v] [-s socket] [--] TEXT...`: sends one command line
// and the claimed environment to the collector (collector/request.hpp) and
// waits for its reply, 200 ms at most in all. Run by the shell hooks of
// etc/ for each command; called by main() before any option parsing.
#pragma once

namespace adist::daemon {

// Exit status: 0 whatever became of the record (a shell hook must never
// fail or slow the shell), 64 for a usage error; with -v, a record that was
// not taken prints why and exits 75 (EX_TEMPFAIL).
int run_log_client(int argc, char** argv);

} // namespace adist::daemon
