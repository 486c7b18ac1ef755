#include "image/config.h"

#include <fmt/core.h>

#include <array>

#include "image/json_fields.h"

namespace hoist::image {
namespace {

using detail::get_string;

constexpr std::string_view kCtx = "invalid image config";

constexpr std::array<std::string_view, 10> kTopLevelKeys = {
    "created", "author", "architecture", "os", "os.version", "os.features", "variant", "config", "rootfs",
    "history"};
constexpr std::array<std::string_view, 10> kConfigKeys = {
    "User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir", "Labels", "StopSignal",
    "ArgsEscaped"};

template <size_t N>
bool modelled(const std::array<std::string_view, N>& keys, std::string_view k) {
  for (auto m : keys)
    if (m == k) return true;
  return false;
}

Result<ContainerConfig> container_config(const nlohmann::json& j) {
  if (!j.is_object()) return fail(Errc::kInvalidArgument, "'config' must be an object");
  ContainerConfig c;
  c.user = HOIST_TRY(get_string(j, "User"));
  c.env = HOIST_TRY(detail::get_string_array(j, "Env")).value_or(std::vector<std::string>{});
  c.entrypoint = HOIST_TRY(detail::get_string_array(j, "Entrypoint"));
  c.cmd = HOIST_TRY(detail::get_string_array(j, "Cmd"));
  c.working_dir = HOIST_TRY(get_string(j, "WorkingDir"));
  c.labels = HOIST_TRY(detail::get_string_map(j, "Labels"));
  c.exposed_ports = HOIST_TRY(detail::get_key_set(j, "ExposedPorts"));
  c.volumes = HOIST_TRY(detail::get_key_set(j, "Volumes"));
  c.stop_signal = HOIST_TRY(get_string(j, "StopSignal"));
  c.args_escaped = HOIST_TRY(detail::get_bool(j, "ArgsEscaped")).value_or(false);
  return c;
}

Result<RootFs> rootfs(const nlohmann::json& j) {
  if (!j.is_object()) return fail(Errc::kInvalidArgument, "'rootfs' must be an object");
  RootFs r;
  r.type = HOIST_TRY(get_string(j, "type", true));
  if (r.type != "layers")
    return fail(Errc::kInvalidArgument, fmt::format("'rootfs.type' is '{}', not 'layers'", r.type));
  const nlohmann::json* ids = detail::field(j, "diff_ids");
  if (!ids) return fail(Errc::kInvalidArgument, "'rootfs.diff_ids' is missing");
  if (!ids->is_array()) return fail(Errc::kInvalidArgument, "'rootfs.diff_ids' must be an array");
  for (size_t i = 0; i < ids->size(); ++i) {
    const auto& e = (*ids)[i];
    if (!e.is_string())
      return fail(Errc::kInvalidArgument, fmt::format("'rootfs.diff_ids[{}]' must be a string", i));
    auto d = digest::parse(e.get_ref<const std::string&>());
    if (!d) return fail(std::move(d).error().context(fmt::format("'rootfs.diff_ids[{}]'", i)));
    r.diff_ids.push_back(std::move(*d));
  }
  return r;
}

Result<History> history_entry(const nlohmann::json& j) {
  if (!j.is_object()) return fail(Errc::kInvalidArgument, "must be an object");
  History h;
  h.created = HOIST_TRY(get_string(j, "created"));
  h.created_by = HOIST_TRY(get_string(j, "created_by"));
  h.author = HOIST_TRY(get_string(j, "author"));
  h.comment = HOIST_TRY(get_string(j, "comment"));
  h.empty_layer = HOIST_TRY(detail::get_bool(j, "empty_layer")).value_or(false);
  return h;
}

Result<ImageConfig> config_body(nlohmann::json j) {
  ImageConfig c;
  c.created = HOIST_TRY(get_string(j, "created"));
  c.author = HOIST_TRY(get_string(j, "author"));
  c.architecture = HOIST_TRY(get_string(j, "architecture", true));
  if (c.architecture.empty()) return fail(Errc::kInvalidArgument, "'architecture' is empty");
  c.os = HOIST_TRY(get_string(j, "os", true));
  if (c.os.empty()) return fail(Errc::kInvalidArgument, "'os' is empty");
  c.os_version = HOIST_TRY(get_string(j, "os.version"));
  c.os_features = HOIST_TRY(detail::get_string_array(j, "os.features")).value_or(std::vector<std::string>{});
  c.variant = HOIST_TRY(get_string(j, "variant"));
  if (const nlohmann::json* cfg = detail::field(j, "config")) c.config = HOIST_TRY(container_config(*cfg));
  const nlohmann::json* fs = detail::field(j, "rootfs");
  if (!fs) return fail(Errc::kInvalidArgument, "'rootfs' is missing");
  c.rootfs = HOIST_TRY(rootfs(*fs));
  if (const nlohmann::json* hist = detail::field(j, "history")) {
    if (!hist->is_array()) return fail(Errc::kInvalidArgument, "'history' must be an array");
    for (size_t i = 0; i < hist->size(); ++i) {
      auto h = history_entry((*hist)[i]);
      if (!h) return fail(std::move(h).error().context(fmt::format("'history[{}]'", i)));
      c.history.push_back(std::move(*h));
    }
  }
  c.raw = std::move(j);
  return c;
}

nlohmann::ordered_json key_set(const std::vector<std::string>& keys) {
  nlohmann::ordered_json o = nlohmann::ordered_json::object();
  for (const auto& k : keys) o[k] = nlohmann::ordered_json::object();
  return o;
}

}  // namespace

ref::Platform ImageConfig::platform() const {
  ref::Platform p;
  p.os = os;
  p.architecture = architecture;
  p.variant = variant;
  p.os_version = os_version;
  p.os_features = os_features;
  return p;
}

Result<ImageConfig> parse_config(std::string_view bytes) {
  nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded()) return fail(Errc::kInvalidArgument, fmt::format("{}: not valid JSON", kCtx));
  if (!j.is_object()) return fail(Errc::kInvalidArgument, fmt::format("{}: not a JSON object", kCtx));
  return HOIST_TRY_CTX(config_body(std::move(j)), kCtx);
}

nlohmann::ordered_json to_json(const ImageConfig& c) {
  nlohmann::ordered_json j;
  if (!c.created.empty()) j["created"] = c.created;
  if (!c.author.empty()) j["author"] = c.author;
  j["architecture"] = c.architecture;
  j["os"] = c.os;
  if (!c.os_version.empty()) j["os.version"] = c.os_version;
  if (!c.os_features.empty()) j["os.features"] = c.os_features;
  if (!c.variant.empty()) j["variant"] = c.variant;

  const ContainerConfig& cc = c.config;
  nlohmann::ordered_json cfg = nlohmann::ordered_json::object();
  if (!cc.user.empty()) cfg["User"] = cc.user;
  if (!cc.exposed_ports.empty()) cfg["ExposedPorts"] = key_set(cc.exposed_ports);
  if (!cc.env.empty()) cfg["Env"] = cc.env;
  if (cc.entrypoint) cfg["Entrypoint"] = *cc.entrypoint;
  if (cc.cmd) cfg["Cmd"] = *cc.cmd;
  if (!cc.volumes.empty()) cfg["Volumes"] = key_set(cc.volumes);
  if (!cc.working_dir.empty()) cfg["WorkingDir"] = cc.working_dir;
  if (!cc.labels.empty()) cfg["Labels"] = cc.labels;
  if (!cc.stop_signal.empty()) cfg["StopSignal"] = cc.stop_signal;
  if (cc.args_escaped) cfg["ArgsEscaped"] = true;
  auto raw_cfg = c.raw.is_object() ? c.raw.find("config") : c.raw.end();
  if (raw_cfg != c.raw.end() && raw_cfg->is_object()) {
    for (const auto& [k, v] : raw_cfg->items())
      if (!modelled(kConfigKeys, k)) cfg[k] = v;
  }
  if (!cfg.empty()) j["config"] = std::move(cfg);

  nlohmann::ordered_json fs;
  fs["type"] = c.rootfs.type;
  fs["diff_ids"] = nlohmann::ordered_json::array();
  for (const auto& d : c.rootfs.diff_ids) fs["diff_ids"].push_back(d.str());
  j["rootfs"] = std::move(fs);

  if (!c.history.empty()) {
    nlohmann::ordered_json hist = nlohmann::ordered_json::array();
    for (const auto& h : c.history) {
      nlohmann::ordered_json e = nlohmann::ordered_json::object();
      if (!h.created.empty()) e["created"] = h.created;
      if (!h.created_by.empty()) e["created_by"] = h.created_by;
      if (!h.author.empty()) e["author"] = h.author;
      if (!h.comment.empty()) e["comment"] = h.comment;
      if (h.empty_layer) e["empty_layer"] = true;
      hist.push_back(std::move(e));
    }
    j["history"] = std::move(hist);
  }
  if (c.raw.is_object()) {
    for (const auto& [k, v] : c.raw.items())
      if (!modelled(kTopLevelKeys, k)) j[k] = v;
  }
  return j;
}

std::string serialize(const ImageConfig& c) { return detail::dump(to_json(c)); }

}  // namespace hoist::image
