#include "libcni/exec.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "libcni/errors.h"
#include "libnet/core/fd.h"
#include "libnet/core/search_path.h"

extern char** environ;

namespace zl::cni {
namespace {

using net::UniqueFd;

Status pump(int in_fd, std::string_view input, int out_fd, std::string& out, int err_fd, std::string& err) {
  // Write stdin while draining stdout/stderr so neither side can block the other.
  UniqueFd in(in_fd), o(out_fd), e(err_fd);
  if (input.empty()) in.reset();
  if (in) ::fcntl(in.get(), F_SETFL, ::fcntl(in.get(), F_GETFL) | O_NONBLOCK);
  while (o || e) {
    pollfd fds[3];
    int n = 0;
    if (in) fds[n++] = {in.get(), POLLOUT, 0};
    if (o) fds[n++] = {o.get(), POLLIN, 0};
    if (e) fds[n++] = {e.get(), POLLIN, 0};
    if (::poll(fds, static_cast<nfds_t>(n), -1) < 0) {
      if (errno == EINTR) continue;
      return Error::from_errno(errno, "poll delegated plugin");
    }
    for (int i = 0; i < n; ++i) {
      if (!fds[i].revents) continue;
      if (in && fds[i].fd == in.get()) {
        ssize_t w = ::write(in.get(), input.data(), input.size());
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
          in.reset();  // the child stopped reading; its exit status tells the rest
        } else if (w > 0) {
          input.remove_prefix(static_cast<size_t>(w));
          if (input.empty()) in.reset();
        }
        continue;
      }
      UniqueFd& src = (o && fds[i].fd == o.get()) ? o : e;
      std::string& dst = &src == &o ? out : err;
      char buf[16384];
      ssize_t r = ::read(src.get(), buf, sizeof buf);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) {
        src.reset();
      } else {
        dst.append(buf, static_cast<size_t>(r));
      }
    }
  }
  return {};
}

}  // namespace

Result<std::string> find_plugin(std::string_view type, std::string_view cni_path) {
  if (type.empty()) return fail(kErrInvalidConfig, "plugin type is empty");
  if (type.find('/') != std::string_view::npos || type == "." || type == "..") {
    return fail(kErrInvalidConfig, "plugin type \"" + std::string(type) + "\": must be a plain file name");
  }
  if (auto p = net::find_executable(type, cni_path)) return *p;
  return fail(kErrInvalidConfig,
              "plugin \"" + std::string(type) + "\" not found in CNI_PATH \"" + std::string(cni_path) + "\"");
}

Result<std::string> exec_plugin(const std::string& binary, std::string_view command, std::string_view input) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return Error::from_errno(errno, "pipe");
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return Error::from_errno(errno, "pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return Error::from_errno(errno, "pipe");
  UniqueFd err_r(err[0]), err_w(err[1]);

  std::vector<std::string> env_store;
  std::string cmd_var = "CNI_COMMAND=" + std::string(command);
  std::vector<char*> envp;
  for (char** e = environ; e && *e; ++e) {
    if (std::strncmp(*e, "CNI_COMMAND=", 12) != 0) envp.push_back(*e);
  }
  envp.push_back(cmd_var.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), STDERR_FILENO);
  char* argv[] = {const_cast<char*>(binary.c_str()), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, binary.c_str(), &fa, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return Error::from_errno(rc, "exec " + binary);
  in_r.reset();
  out_w.reset();
  err_w.reset();

  std::string stdout_data, stderr_data;
  auto pumped = pump(in_w.release(), input, out_r.release(), stdout_data, err_r.release(), stderr_data);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Error::from_errno(errno, "wait " + binary);
  }
  if (!pumped) return std::move(pumped).error();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return stdout_data;

  // A failing plugin prints a CNI error on stdout; pass its code and message on.
  std::string base = binary.substr(binary.rfind('/') + 1);
  if (auto doc = parse_json(stdout_data, base); doc && (*doc)->IsObject()) {
    auto code = get_int(**doc, "code", "code", 1, INT32_MAX);
    auto msg = get_string(**doc, "msg", "msg");
    if (code && *code && msg) {
      return fail(static_cast<int>(**code), base + ": " + msg->value_or("(no message)"));
    }
  }
  if (stderr_data.size() > 512) stderr_data = stderr_data.substr(stderr_data.size() - 512);
  std::string how = WIFEXITED(status) ? "exited " + std::to_string(WEXITSTATUS(status))
                                      : "killed by signal " + std::to_string(WTERMSIG(status));
  return fail(kErrInternal, base + " " + how + (stderr_data.empty() ? "" : ": " + stderr_data));
}

Result<CniResult> ipam_add(const Context& ctx) {
  auto bin = find_plugin(ctx.conf.ipam_type, ctx.env.path);
  if (!bin) return std::move(bin).error().wrap("ipam");
  auto out = exec_plugin(*bin, "ADD", ctx.conf.raw);
  if (!out) return std::move(out).error();
  auto doc = parse_json(*out, ctx.conf.ipam_type + " result");
  if (!doc) return std::move(doc).error();
  auto ver = get_string(**doc, "cniVersion", "cniVersion");
  if (!ver) return std::move(ver).error();
  auto r = parse_result(**doc, ver->value_or(ctx.conf.cni_version));
  if (!r) return std::move(r).error().wrap(ctx.conf.ipam_type + " result");
  return r;
}

Status ipam_run(const Context& ctx, std::string_view command) {
  auto bin = find_plugin(ctx.conf.ipam_type, ctx.env.path);
  if (!bin) return std::move(bin).error().wrap("ipam");
  auto out = exec_plugin(*bin, command, ctx.conf.raw);
  if (!out) return std::move(out).error();
  return {};
}

}  // namespace zl::cni
