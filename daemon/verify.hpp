// `auditdistd verify HOST_DIR` (offline): proves a receiver host directory's
// trails against its ledger and signed heads (proto/ledger.hpp,
// proto/ledger_head.hpp). Prints one line per finding, "FAIL: ..." for
// anything that breaks complete, continuous coverage; exits 0 only when
// nothing failed. `auditdistd ledger-key`: prints the public key of the
// supervisor's signing key (privileged/ledger_signer.hpp).
#pragma once

namespace adist::daemon {

int run_verify(int argc, char** argv);
int run_ledger_key(int argc, char** argv);

} // namespace adist::daemon
