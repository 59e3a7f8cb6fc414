/* SPDX-License-Identifier: GPL-2.0 */
#pragma once

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "errors.h"

namespace pgt {

/*
 * A child sharing the parent's memory that waits, in raw system calls only (see
 * benches/fork.cpp for why not glibc's fork()), until released; destroyed =
 * released and reaped, also when the measured operation throws.
 */
class HeldChild
{
public:
	HeldChild()
	{
		int fds[2];
		if (pipe2(fds, O_CLOEXEC))
			throw RuntimeError(fmt::format("pipe: {}", strerror(errno)));
		pid_ = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
		if (pid_ == 0) {
			char c;
			syscall(SYS_close, fds[1]);
			syscall(SYS_read, fds[0], &c, 1);
			syscall(SYS_exit_group, 0);
		}
		close(fds[0]);
		release_ = fds[1];
		if (pid_ < 0) {
			close(release_);
			throw RuntimeError(fmt::format("clone: {}", strerror(errno)));
		}
	}
	~HeldChild() { reap(); }
	HeldChild(const HeldChild &) = delete;
	HeldChild &operator=(const HeldChild &) = delete;

	void reap()
	{
		if (release_ < 0)
			return;
		close(release_);
		release_ = -1;
		int status;
		while (waitpid(static_cast<pid_t>(pid_), &status, 0) < 0 && errno == EINTR) {
		}
	}

private:
	long pid_ = -1;
	int release_ = -1;
};

} /* namespace pgt */
