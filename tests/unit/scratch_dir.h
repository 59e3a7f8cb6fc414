/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A directory under /tmp that lives as long as its owner: the fake /proc and /sys
 * roots, knob files and installed trees the unit tests write, gone when the test ends
 * whatever it asserted.
 */
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

class ScratchDir
{
public:
	/* "/tmp/pgtbench-<what>-XXXXXX" */
	explicit ScratchDir(const std::string &what)
	{
		std::string tmpl = "/tmp/pgtbench-" + what + "-XXXXXX";
		path_ = mkdtemp(tmpl.data());
	}
	~ScratchDir() { std::filesystem::remove_all(path_); }
	ScratchDir(const ScratchDir &) = delete;
	ScratchDir &operator=(const ScratchDir &) = delete;

	const std::string &path() const { return path_; }
	/* rel starts with '/' ("/sys/kernel/..."): the path as under a root. */
	std::string at(const std::string &rel) const { return path_ + rel; }
	/* Writes rel's file, its directories first. */
	void put(const std::string &rel, const std::string &text = "") const
	{
		std::filesystem::create_directories(std::filesystem::path(at(rel)).parent_path());
		std::ofstream(at(rel), std::ios::binary) << text;
	}

private:
	std::string path_;
};
