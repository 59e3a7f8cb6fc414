// SPDX-License-Identifier: GPL-2.0
/*
 * Which platform a machine is (harness/measure/platform.h), from the fixture /proc and
 * /sys trees of tests/fixtures/env/<machine> and from facts made up to reach each line
 * of the table: the name a column header gets, and the evidence the notes give.
 */
#include <gtest/gtest.h>

#include "env_fixture.h"

#include "errors.h"
#include "platform.h"

using namespace pgt;

namespace {

Platform fixturePlatform(const std::string &name, const std::string &arch = "aarch64")
{
	return fixtureEnv(name, arch).platform;
}

/* A Neoverse-N1 machine with these firmware facts. */
PlatformFacts neoverseN1(const std::string &dmi_vendor = "", const std::string &dmi_product = "")
{
	PlatformFacts f;
	f.dmi_vendor = dmi_vendor;
	f.dmi_product = dmi_product;
	f.midr = {"0x413fd0c1"};
	f.cores = {{0x41, 0xd0c}};
	f.cpu_model = "Neoverse-N1";
	return f;
}

/* The name, the source and the evidence of a platform, each checked. */
void expectPlatform(const Platform &p, const std::string &name, PlatformSource source, const std::string &evidence)
{
	EXPECT_EQ(p.name, name);
	EXPECT_EQ(platformSourceName(p.source), std::string(platformSourceName(source)));
	EXPECT_EQ(p.evidence, evidence);
}

} /* namespace */

TEST(Platform, PlatformIsAmpereAltraFromItsDmiVendor)
{
	expectPlatform(fixturePlatform("altra-metal"), "Ampere Altra", PlatformSource::Dmi,
		       "DMI sys_vendor Ampere(R), product Mt.Jade, Neoverse-N1");
}

TEST(Platform, PlatformIsAmpereAltraFromSoc0WhereTheBoardIsAnotherMakers)
{
	PlatformFacts f = neoverseN1("ADLINK", "AVA Developer Platform");
	f.soc_family = "jep106:0a16";
	f.soc_id = "jep106:0a16:0001";
	expectPlatform(identifyPlatform(f), "Ampere Altra", PlatformSource::Soc0,
		       "soc0 jep106:0a16:0001, Neoverse-N1");
}

TEST(Platform, PlatformIsAmpereAltraMaxWithMoreThan80CoresASocket)
{
	PlatformFacts f = neoverseN1();
	f.soc_family = "jep106:0a16";
	f.soc_id = "jep106:0a16:0001";
	f.max_cpus_per_package = 128;
	Platform p = identifyPlatform(f);
	EXPECT_EQ(p.name, "Ampere Altra Max");
	EXPECT_EQ(p.evidence, "soc0 jep106:0a16:0001, Neoverse-N1, 128 CPUs in a socket");
	f.max_cpus_per_package = 80; /* Altra Q80-30 */
	EXPECT_EQ(identifyPlatform(f).name, "Ampere Altra");
}

TEST(Platform, PlatformIsGraviton2FromEc2InstanceType)
{
	expectPlatform(fixturePlatform("graviton2-metal"), "Graviton2", PlatformSource::Ec2,
		       "EC2 instance type r6g.metal");
	EXPECT_EQ(identifyPlatform(neoverseN1("Amazon EC2", "c6g.metal")).evidence, "EC2 instance type c6g.metal");
	EXPECT_EQ(identifyPlatform(neoverseN1("Amazon EC2", "m6g.large")).name, "Graviton2");
}

TEST(Platform, PlatformIsGraviton3FromEc2InstanceTypeAndGraviton3EForHpc7g)
{
	expectPlatform(fixturePlatform("graviton3-vm"), "Graviton3", PlatformSource::Ec2,
		       "EC2 instance type c7g.16xlarge");
	EXPECT_EQ(identifyPlatform(neoverseN1("Amazon EC2", "hpc7g.16xlarge")).name, "Graviton3E");
}

TEST(Platform, PlatformIsGraviton4FromEc2InstanceType)
{
	expectPlatform(fixturePlatform("graviton4-metal"), "Graviton4", PlatformSource::Ec2,
		       "EC2 instance type m8g.metal-24xl");
}

TEST(Platform, AnEc2FamilyNotInTheTableIsNamedByItsCore)
{
	PlatformFacts f = neoverseN1("Amazon EC2", "c8gn.large");
	f.midr = {"0x410fd4f1"};
	f.cores = {{0x41, 0xd4f}};
	expectPlatform(identifyPlatform(f), "Graviton4", PlatformSource::Ec2,
		       "DMI sys_vendor Amazon EC2, product c8gn.large, Neoverse-V2");
}

TEST(Platform, PlatformIsAmpereOneFromAmperesOwnCore)
{
	expectPlatform(fixturePlatform("ampereone-metal"), "AmpereOne", PlatformSource::Midr,
		       "MIDR 0xc00fac30");
}

TEST(Platform, PlatformIsNvidiaGraceFromItsSocId)
{
	expectPlatform(fixturePlatform("grace-metal"), "NVIDIA Grace", PlatformSource::Soc0,
		       "soc0 jep106:036b:0241");
}

TEST(Platform, AnotherNvidiaSocIsNotGrace)
{
	PlatformFacts f = neoverseN1();
	f.soc_family = "jep106:036b";
	f.soc_id = "jep106:036b:0234"; /* Jetson Orin: Cortex-A78AE */
	f.midr = {"0x410fd421"};
	f.cores = {{0x41, 0xd42}};
	EXPECT_EQ(identifyPlatform(f).source, PlatformSource::Cpu);
}

TEST(Platform, PlatformIsAppleM1FromTheAsahiDeviceTree)
{
	expectPlatform(fixturePlatform("m1-asahi"), "Apple M1", PlatformSource::Devicetree,
		       "devicetree compatible apple,t8103");
}

TEST(Platform, PlatformIsAppleM2InAVmFromTheHostsMidr)
{
	/* The VMM's device tree says linux,dummy-virt; the CPU is still Apple's. */
	expectPlatform(fixturePlatform("m2-vm"), "Apple M2", PlatformSource::Midr,
		       "MIDR 0x611f0321, 0x611f0331");
}

TEST(Platform, PlatformIsQemuVirtOnlyWithAnEmulatedCpu)
{
	expectPlatform(fixturePlatform("qemu-deb61"), "QEMU virt", PlatformSource::Devicetree,
		       "devicetree compatible linux,dummy-virt, QEMU max");
	/* A KVM guest on an Altra: the host's core says more than the VMM's name. */
	PlatformFacts kvm = neoverseN1("QEMU", "KVM Virtual Machine");
	kvm.dt_compatible = {"linux,dummy-virt"};
	EXPECT_EQ(identifyPlatform(kvm).name, "Neoverse-N1");
}

TEST(Platform, AnUnknownMachineKeepsItsCpusName)
{
	expectPlatform(fixturePlatform("x86-intel-metal", "x86_64"), "Intel Xeon Silver 4314", PlatformSource::Cpu,
		       "CPU model Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz, no known platform");
	EXPECT_EQ(identifyPlatform(neoverseN1("Supermicro", "R12SPD-A")).name, "Neoverse-N1");
}

TEST(Platform, EnvJsonCarriesThePlatformWithItsSource)
{
	auto j = fixtureEnv("graviton2-metal").toJson()["platform"];
	EXPECT_EQ(j, (nlohmann::json{{"name", "Graviton2"}, {"evidence", "EC2 instance type r6g.metal"},
				     {"source", "ec2"}}));
	EXPECT_NE(formatEnv(fixtureEnv("altra-metal")).find("platform         Ampere Altra  [dmi: DMI sys_vendor"),
		  std::string::npos);
}

TEST(Platform, MachineOverrideNamesTheMachineAndRefusesABlankName)
{
	expectPlatform(overridePlatform("  lab-altra-2 "), "lab-altra-2", PlatformSource::Override,
		       "--machine");
	EXPECT_THROW(overridePlatform(""), UsageError);
	EXPECT_THROW(overridePlatform(" \t "), UsageError);
	EXPECT_THROW(overridePlatform("two\nlines"), UsageError);
}
