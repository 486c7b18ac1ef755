#include "runtime/state.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <stdlib.h>
#include <unistd.h>

#include "sys/file_io.h"
#include "sys/process.h"

using namespace hoist;

TEST_CASE("validate_id refuses path tricks") {
  CHECK(runtime::validate_id("c1").has_value());
  CHECK(runtime::validate_id("a.b_c-d+e").has_value());
  CHECK(!runtime::validate_id(""));
  CHECK(!runtime::validate_id("../x"));
  CHECK(!runtime::validate_id("a/b"));
  CHECK(!runtime::validate_id(".hidden"));
}

TEST_CASE("state round trip and derived status") {
  char t[] = "/tmp/hoist-state-XXXXXX";
  std::string root = mkdtemp(t);
  runtime::ContainerState s;
  s.id = "c1";
  s.pid = getpid();
  s.start_time = sys::proc_stat(getpid()).value().start_time;
  s.bundle = "/b";
  s.rootfs = "/b/rootfs";
  s.created = runtime::rfc3339_now();
  s.annotations = {{"k", "v"}};
  REQUIRE(sys::mkdir_all(runtime::state_dir(root, "c1")).has_value());
  REQUIRE(runtime::save_state(root, s).has_value());
  auto l = runtime::load_state(root, "c1");
  REQUIRE(l.has_value());
  CHECK(l->status == runtime::Status::kRunning);  // this process is alive, no fifo
  REQUIRE(sys::write_file_atomic(root + "/c1/exec.fifo", "").has_value());
  CHECK(runtime::load_state(root, "c1")->status == runtime::Status::kCreated);
  s.start_time += 1;  // another process with our pid: stopped
  REQUIRE(runtime::save_state(root, s).has_value());
  auto stopped = runtime::load_state(root, "c1").value();
  CHECK(stopped.status == runtime::Status::kStopped);
  auto j = nlohmann::json::parse(runtime::state_json(stopped));
  CHECK(j["status"] == "stopped");
  CHECK(j["pid"] == 0);
  CHECK(j["annotations"]["k"] == "v");
  CHECK(runtime::list_ids(root).value() == std::vector<std::string>{"c1"});
  auto missing = runtime::load_state(root, "nope");
  CHECK(missing.error().code() == Errc::kNotFound);
  CHECK(missing.error().to_string() == "container 'nope' does not exist");
  (void)sys::remove_all(root);
}
