// SPDX-License-Identifier: GPL-2.0
/* Config files: good ones parse, bad ones fail with file:line and a reason. */
#include <gtest/gtest.h>

#include <fstream>
#include <unistd.h>

#include "config.h"
#include "errors.h"

using namespace pgt;

namespace {

class ConfigTest : public ::testing::Test
{
protected:
	std::string write(const std::string &text)
	{
		char tmpl[] = "/tmp/pgtbench-config-XXXXXX.toml";
		int fd = mkstemps(tmpl, 5);
		close(fd);
		std::ofstream(tmpl) << text;
		paths_.push_back(tmpl);
		return tmpl;
	}
	void TearDown() override
	{
		for (const auto &p : paths_)
			unlink(p.c_str());
	}
	/* The message of the UsageError loading `text` throws ("" if none). */
	std::string error(const std::string &text)
	{
		std::string path = write(text);
		try {
			loadConfig(path);
		} catch (const UsageError &e) {
			std::string msg = e.what();
			EXPECT_EQ(msg.rfind(path + ":", 0), 0u) << "error must start with the file: " << msg;
			EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
			return msg.substr(path.size() + 1);
		}
		return "";
	}
	std::vector<std::string> paths_;
};

} /* namespace */

TEST_F(ConfigTest, ShippedConfigsParse)
{
	for (const char *name : {"default.toml", "quick.toml"}) {
		RunConfig c = loadConfig(std::string(CONFIGS) + "/" + name);
		EXPECT_FALSE(c.scenarios.empty()) << name;
	}
}

TEST_F(ConfigTest, ValuesAndListsAreRead)
{
	RunConfig c = loadConfig(write("[run]\nreps = 7\nwarmup = 2\nlabel = \"base\"\ncpu = 1\n"
				       "[fork]\nsize = [\"64M\", 134217728]\norder = 9\nmap = \"pte\"\nreps = 3\n"));
	EXPECT_EQ(c.reps, 7);
	EXPECT_EQ(c.warmup, 2);
	EXPECT_EQ(c.label, "base");
	EXPECT_EQ(c.cpu, 1);
	ASSERT_EQ(c.scenarios.size(), 1u);
	const auto &f = c.scenarios[0];
	EXPECT_EQ(f.spec->name, "fork");
	EXPECT_EQ(f.reps, 3);
	ASSERT_EQ(f.lists.at("size").size(), 2u);
	EXPECT_EQ(std::get<int64_t>(f.lists.at("size")[0]), 64 << 20);
	EXPECT_EQ(std::get<int64_t>(f.lists.at("size")[1]), 128 << 20);
	EXPECT_EQ(std::get<int64_t>(f.lists.at("order")[0]), 9);
	EXPECT_EQ(std::get<std::string>(f.lists.at("map")[0]), "pte");
}

TEST_F(ConfigTest, ScenariosRunInFileOrder)
{
	RunConfig c = loadConfig(write("[null]\n[kmod_nop]\n[fork]\n"));
	ASSERT_EQ(c.scenarios.size(), 3u);
	EXPECT_EQ(c.scenarios[0].spec->name, "null");
	EXPECT_EQ(c.scenarios[1].spec->name, "kmod_nop");
	EXPECT_EQ(c.scenarios[2].spec->name, "fork");
}

TEST_F(ConfigTest, OmittedParametersTakeTheirDefaults)
{
	RunConfig c = loadConfig(write("[fork]\n"));
	EXPECT_EQ(std::get<int64_t>(c.scenarios[0].lists.at("size")[0]), int64_t{1} << 30);
	EXPECT_EQ(c.scenarios[0].lists.at("order").size(), 2u);
}

TEST_F(ConfigTest, UnknownKeyNamesLineAndKnownKeys)
{
	std::string e = error("[fork]\nsize = \"1G\"\nszie = \"2G\"\n");
	EXPECT_EQ(e.rfind("3: unknown key 'szie' in [fork]", 0), 0u) << e;
	EXPECT_NE(e.find("known: size, order, map"), std::string::npos) << e;
}

TEST_F(ConfigTest, UnknownScenarioIsRejected)
{
	std::string e = error("[run]\nreps = 1\n\n[forks]\n");
	EXPECT_EQ(e.rfind("4: unknown scenario [forks]", 0), 0u) << e;
}

TEST_F(ConfigTest, WrongTypesAreRejected)
{
	EXPECT_NE(error("[fork]\norder = \"nine\"\n").find("2: order: expected an integer"), std::string::npos);
	EXPECT_NE(error("[run]\nreps = \"ten\"\n").find("2: reps: expected an integer"), std::string::npos);
	EXPECT_NE(error("[fork]\nmap = 1\n").find("2: map: expected a string"), std::string::npos);
	EXPECT_NE(error("fork = 1\n").find("1: 'fork' must be a table"), std::string::npos);
}

TEST_F(ConfigTest, OutOfBoundsValuesAreRejected)
{
	EXPECT_NE(error("[fork]\norder = 21\n").find("2: order: 21 is out of range [0, 20]"), std::string::npos);
	EXPECT_NE(error("[fork]\nsize = \"4K\"\n").find("2: size: 4K is out of range [2M, 1T]"), std::string::npos);
	EXPECT_NE(error("[fork]\nsize = \"2X\"\n").find("is not a size"), std::string::npos);
	EXPECT_NE(error("[fork]\nmap = \"pud\"\n").find("'pud' is not one of pmd, pte"), std::string::npos);
	EXPECT_NE(error("[run]\nreps = 0\n[fork]\n").find("2: reps: 0 is out of range"), std::string::npos);
	EXPECT_NE(error("[run]\nlabel = \"a b\"\n[fork]\n").find("label 'a b'"), std::string::npos);
	EXPECT_NE(error("[run]\nfilter = \"(\"\n[fork]\n").find("bad regular expression"), std::string::npos);
}

TEST_F(ConfigTest, SyntaxErrorsCarryTheLine)
{
	std::string e = error("[fork]\nsize = \n");
	EXPECT_EQ(e.rfind("2:", 0), 0u) << e;
}

TEST_F(ConfigTest, EmptyConfigRunsNothingAndSaysSo)
{
	EXPECT_NE(error("[run]\nreps = 3\n").find("no scenario tables"), std::string::npos);
}

TEST_F(ConfigTest, SizeOverrideIsCheckedAgainstBounds)
{
	RunConfig c = defaultConfig();
	overrideParam(c, "size", "256M");
	for (const auto &s : c.scenarios) {
		if (s.spec->param("size")) {
			EXPECT_EQ(std::get<int64_t>(s.lists.at("size")[0]), 256 << 20);
		}
	}
	EXPECT_THROW(overrideParam(c, "size", "1K"), UsageError);
	EXPECT_THROW(overrideParam(c, "size", "lots"), UsageError);
	RunConfig only_null = loadConfig(write("[null]\n"));
	EXPECT_THROW(overrideParam(only_null, "size", "1G"), UsageError);
}

TEST_F(ConfigTest, EveryScenarioDefaultIsValid)
{
	/* defaultConfig() parses every declared default against its own bounds. */
	EXPECT_NO_THROW(defaultConfig());
}
