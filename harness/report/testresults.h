/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A run's variants as test results, for test frameworks that know nothing of
 * benchmarks: kselftest-style TAP 13 (`run --tap`) and LAVA's lava-test-case lines
 * (`run --lava`). Both are made from what the results file recorded (ResultsFile, read
 * back through the one reader), so a variant's outcome - ok, skipped with its reason,
 * failed with its reason, its primary metric - is the file's, defined once.
 *
 * The measurement reported is the primary metric's median over the repetitions: one
 * slow repetition (an interrupt, a compaction) moves the mean of 10 samples but not the
 * median, and a CI dashboard plotting it run after run should not jump for that.
 */
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "results.h"

namespace pgt {

/* What a test framework learns of one variant. */
struct TestOutcome {
	std::string name; /* the variant's: "fork/size:1G/order:9/map:pte" */
	Status status = Status::Ok;
	std::string reason;	      /* skipped or error: why (one line) */
	std::string metric, unit;     /* the primary metric: "fork_ms", "ms" */
	std::optional<double> median; /* nullopt: no samples of it were recorded */
};

std::vector<TestOutcome> testOutcomes(const ResultsFile &results);

/*
 * kselftest's exit codes for a run: KSFT_FAIL (1) when a variant failed, KSFT_SKIP (4)
 * when none could run (every one skipped), else KSFT_PASS (0), some skipped or not.
 */
int testExitCode(const std::vector<TestOutcome> &outcomes);

/*
 * TAP version 13 as kselftest prints it (ksft_print_header, ksft_set_plan,
 * ksft_test_result_*, ksft_print_cnts): the plan, a line per variant, then the totals:
 *   ok 1 fork/size:1G/order:0 # fork_ms 1.234 ms
 *   not ok 2 NAME # <reason>
 *   ok 3 NAME # SKIP <reason>
 *   # Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0
 */
std::string formatTap(const std::vector<TestOutcome> &outcomes);

/*
 * A LAVA test-case id from a variant's name: LAVA allows only [A-Za-z0-9._-], so
 * '/' -> '.', ':' -> '-', any other byte outside the set -> '_':
 * "fork/size:1G/order:9/map:pte" -> "fork.size-1G.order-9.map-pte".
 */
std::string lavaCaseId(const std::string &name);

/*
 * lavaCaseId() of every name, in order, made unique: where two names map to one id the
 * later ones get ".2", ".3", ... (the first such free id), so no case hides another.
 */
std::vector<std::string> lavaCaseIds(const std::vector<std::string> &names);

/*
 * One line per variant for a lava-test-shell definition to run with sh:
 *   lava-test-case fork.size-1G.order-0 --result pass --measurement 1.234 --units ms
 *   # fork.size-1G.order-9: skip: <reason>
 *   lava-test-case fork.size-1G.order-9 --result skip
 * Nothing in them is a shell metacharacter: ids and units keep to [A-Za-z0-9._-], the
 * measurement is a plain decimal, and reasons only appear in comment lines with their
 * line breaks flattened.
 */
std::string formatLava(const std::vector<TestOutcome> &outcomes);

/* A metric unit as LAVA takes it: "ms", "ns", "count"; "%" -> "percent"; else [A-Za-z0-9._-]. */
std::string lavaUnit(const std::string &unit);

} /* namespace pgt */
