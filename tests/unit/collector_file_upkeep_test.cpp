// collector/file_upkeep: what a role's state becomes after a tamper check.
#include "collector/file_upkeep.hpp"

#include <catch2/catch.hpp>
#include <sysexits.h>

using namespace adist::collector;

TEST_CASE("settle_tamper: each outcome's effect on the role") {
    struct row {
        tamper_outcome outcome;
        bool sync, failed;
        int exit_code;
    };
    for (auto r : {row{tamper_outcome::sound, false, false, 0},
                   row{tamper_outcome::continued, true, false, 0},
                   row{tamper_outcome::aborted, false, true, EX_DATAERR},
                   row{tamper_outcome::failed, false, true, 0}}) {
        bool failed = false;
        int exit_code = 0;
        CHECK(settle_tamper(r.outcome, failed, exit_code) == r.sync);
        CHECK(failed == r.failed);
        CHECK(exit_code == r.exit_code);
    }
}
