/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pieces of text every rendering of a Comparison shares (compare_format.cpp's wide
 * tables, compare_tall.cpp's tall, LKP and mmtests layouts), so that a mark, a rounding
 * or a note reads the same in each. Private to harness/report.
 */
#pragma once

#include <string>
#include <vector>

#include "compare.h"

namespace pgt {

/* "(I)", "(R)", "(?)" (significant, but the mean moved against the ranks), or "". */
std::string markText(const Change &c);
/* Decimals that give the reference three significant digits: 153, 24.7, 1.67, 0.324. */
int decimalsFor(double reference);
/* Words of s into lines of at most width (a longer word gets a line of its own). */
std::vector<std::string> wrapWords(const std::string &s, size_t width);
std::string pad(const std::string &s, size_t w);
std::string padLeft(const std::string &s, size_t w);
std::string rstrip(std::string s);

/* One note wrapped to width, continuation lines indented. */
std::string wrapNote(const std::string &note, size_t width);
/* The comparison's notes as they follow a table: wrapped text, or a markdown list. */
std::string coverLetterNotes(const Comparison &c);
std::string markdownNotes(const Comparison &c);

} /* namespace pgt */
