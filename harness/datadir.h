/* SPDX-License-Identifier: GPL-2.0 */
#pragma once
/*
 * Where pgtbench's own files are: plots/, tools/ (the guest runner, the stack, the
 * kernel fetcher), configs/, kmod/ (the module's sources), results/schema.json.
 */
#include <string>

namespace pgt {

/*
 * $PGTBENCH_DATADIR when set; else, for an installed binary, the data directory meson
 * installed next to it (<bindir>/../share/pgtbench, found from /proc/self/exe, so that a
 * moved prefix still works); else the source tree this binary was built from. Throws a
 * RuntimeError naming every place it looked when none holds the files.
 */
std::string dataDir();

/* The same search with the binary at exe and the source tree at source ("" = none). */
std::string findDataDir(const std::string &exe, const std::string &env_dir, const std::string &source);

} /* namespace pgt */
