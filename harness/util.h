/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by the harness: file reading, string splitting, and sizes
 * written the way kernel developers write them ("1G", "512M", "64K").
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgt {

/* Whole file as a string; nullopt when it cannot be opened (a missing sysfs knob is normal). */
std::optional<std::string> readFile(const std::string &path);
/* A file holding one integer (sysfs/procfs style); nullopt when unreadable or not a number. */
std::optional<int> readInt(const std::string &path);
/* First line without its newline; nullopt when unreadable. */
std::optional<std::string> readLine(const std::string &path);

std::string trim(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);
bool startsWith(std::string_view s, std::string_view prefix);

/*
 * "1G", "1GiB", "512M", "64k", "4096" -> bytes (binary multiples, as /proc and the mm
 * threads use them). nullopt on anything else, including overflow.
 */
std::optional<uint64_t> parseSize(std::string_view s);
/* Inverse of parseSize for exact multiples ("1G"); plain bytes otherwise. */
std::string formatSize(uint64_t bytes);
/* Human-readable, rounded ("1.5 GiB"), for messages only. */
std::string humanSize(uint64_t bytes);

/* Path under a root prefix: rooted("/tmp/fx", "/proc/meminfo") -> "/tmp/fx/proc/meminfo". */
std::string rooted(const std::string &root, std::string_view path);

/* Directory entries (names only, sorted); empty when the directory is missing. */
std::vector<std::string> listDir(const std::string &path);

uint64_t monotonicNs();

/* Convert a metric value to seconds ("ms", "us", "ns", "s"); nullopt for non-times. */
std::optional<double> toSeconds(double value, const std::string &unit);

} /* namespace pgt */
