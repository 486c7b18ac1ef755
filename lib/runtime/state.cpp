#include "runtime/state.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include <fmt/core.h>

#include "sys/file_io.h"
#include "sys/process.h"

namespace hoist::runtime {

using json = nlohmann::json;

std::string_view status_name(Status s) {
  switch (s) {
    case Status::kCreating: return "creating";
    case Status::kCreated: return "created";
    case Status::kRunning: return "running";
    case Status::kStopped: return "stopped";
  }
  return "unknown";
}

Result<> validate_id(std::string_view id) {
  auto ok = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (!first && (c == '_' || c == '.' || c == '+' || c == '-'));
  };
  bool good = !id.empty() && id.size() <= 1024;
  for (size_t i = 0; good && i < id.size(); ++i) good = ok(id[i], i == 0);
  if (!good) return fail(Errc::kInvalidArgument, "invalid container id '" + std::string(id) + "'");
  return {};
}

std::string state_dir(std::string_view root, std::string_view id) {
  return std::string(root) + "/" + std::string(id);
}

Result<> save_state(std::string_view root, const ContainerState& s) {
  json j = {{"id", s.id},           {"pid", s.pid},         {"start_time", s.start_time},
            {"bundle", s.bundle},   {"rootfs", s.rootfs},   {"created", s.created},
            {"owner", s.owner},     {"cgroup_dirs", s.cgroup_dirs}, {"no_new_keyring", s.no_new_keyring}};
  json a = json::object();
  for (const auto& [k, v] : s.annotations) a[k] = v;
  j["annotations"] = a;
  return write_state_file(state_dir(root, s.id) + "/state.json", j.dump());
}

Result<> write_state_file(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  {
    auto fd = HOIST_TRY(sys::open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    HOIST_CHECK(sys::write_all(fd.get(), data));
    HOIST_CHECK(fd.close());
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) return fail(Error::from_errno(errno, "cannot rename '" + tmp + "'"));
  return {};
}

Result<ContainerState> load_state(std::string_view root, std::string_view id) {
  HOIST_CHECK(validate_id(id));
  auto text = sys::read_file(state_dir(root, id) + "/state.json", 1 << 20);
  if (!text) {
    if (text.error().code() == Errc::kNotFound)
      return fail(Errc::kNotFound, "container '" + std::string(id) + "' does not exist");
    return fail(std::move(text).error());
  }
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(Errc::kInternal, "state of container '" + std::string(id) + "' is corrupt");
  ContainerState s;
  try {
    s.id = j.at("id").get<std::string>();
    s.pid = j.at("pid").get<pid_t>();
    s.start_time = j.at("start_time").get<uint64_t>();
    s.bundle = j.at("bundle").get<std::string>();
    s.rootfs = j.at("rootfs").get<std::string>();
    s.created = j.at("created").get<std::string>();
    s.owner = j.value("owner", "");
    s.cgroup_dirs = j.value("cgroup_dirs", std::vector<std::string>{});
    s.no_new_keyring = j.value("no_new_keyring", false);
    if (j.contains("annotations"))
      for (auto it = j["annotations"].begin(); it != j["annotations"].end(); ++it)
        s.annotations.emplace_back(it.key(), it.value().get<std::string>());
  } catch (const json::exception&) {
    return fail(Errc::kInternal, "state of container '" + std::string(id) + "' is corrupt");
  }
  s.status = current_status(root, s);
  return s;
}

Status current_status(std::string_view root, const ContainerState& s) {
  if (!sys::process_alive(s.pid, s.start_time)) return Status::kStopped;
  if (sys::exists(state_dir(root, s.id) + "/exec.fifo")) return Status::kCreated;
  return Status::kRunning;
}

Result<std::vector<std::string>> list_ids(std::string_view root) {
  std::vector<std::string> out;
  DIR* d = ::opendir(std::string(root).c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return fail(Error::from_errno(errno, "cannot list '" + std::string(root) + "'"));
  }
  while (auto* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (sys::exists(std::string(root) + "/" + name + "/state.json")) out.push_back(name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string state_json(const ContainerState& s, int indent) {
  // ordered_json: runc's field order, which some clients' tests compare.
  nlohmann::ordered_json j;
  j["ociVersion"] = kOciVersion;
  j["id"] = s.id;
  j["pid"] = s.status == Status::kStopped ? 0 : s.pid;
  j["status"] = status_name(s.status);
  j["bundle"] = s.bundle;
  j["rootfs"] = s.rootfs;
  j["created"] = s.created;
  j["owner"] = s.owner;
  if (!s.annotations.empty()) {
    nlohmann::ordered_json a = nlohmann::ordered_json::object();
    for (const auto& [k, v] : s.annotations) a[k] = v;
    j["annotations"] = a;
  }
  return j.dump(indent);
}

std::string rfc3339_now() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

}  // namespace hoist::runtime
