#include "real/worker/worker_process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace fleetsim::real {

WorkerProcess start_worker_process(const std::string& binary, const std::vector<std::string>& plugins,
                                   std::string& error) {
  // The arguments are built before the fork: the child only execs.
  std::vector<std::string> args{binary, "worker", "--fd", "3"};
  for (const std::string& p : plugins) {
    args.push_back("--plugin");
    args.push_back(p);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    error = std::string("cannot make a socket for a worker: ") + std::strerror(errno);
    return {};
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    if (pair[1] == 3)
      ::fcntl(3, F_SETFD, 0);
    else
      ::dup2(pair[1], 3);  // dup2 clears FD_CLOEXEC on the copy
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(pair[1]);
  if (pid < 0) {
    ::close(pair[0]);
    error = std::string("cannot start a worker process: ") + std::strerror(errno);
    return {};
  }
  return WorkerProcess{pid, pair[0]};
}

}  // namespace fleetsim::real
