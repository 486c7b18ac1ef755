#pragma once
// Real servers for the registry tests: the CNCF registry (Debian package
// docker-registry) on a free loopback port with a temp storage dir, optionally
// behind htpasswd basic auth; and fake_registry.py (bearer auth, hostile
// answers). Both die with the fixture, also when a REQUIRE throws.

#include <doctest/doctest.h>
#include <fmt/core.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "http/client.h"
#include "unit/http/subprocess.h"

namespace hoist::test {

inline http::Client& shared_http() {
  static http::Client c;
  return c;
}

struct TempTree {
  std::filesystem::path path;
  TempTree() {
    char tmpl[] = "/tmp/hoist-reg-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempTree() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// user "tester", password "testpass" (htpasswd -B).
inline constexpr const char* kHtpasswd = "tester:$2y$05$irmbTfS20m25/RLYErDOHuXkmi0YoAKn/Bok1cp/0Gv8CIc1EZWIa\n";

class DistributionRegistry {
 public:
  explicit DistributionRegistry(bool basic_auth = false) {
    port_ = free_port();
    auto cfg = dir_.path / "config.yml";
    std::ofstream out(cfg);
    out << "version: 0.1\n"
           "log:\n  level: error\n  accesslog:\n    disabled: true\n"
           "storage:\n  filesystem:\n    rootdirectory: "
        << (dir_.path / "data").string()
        << "\n  delete:\n    enabled: true\n"
           "http:\n  addr: 127.0.0.1:"
        << port_ << "\n";
    if (basic_auth) {
      std::ofstream(dir_.path / "htpasswd") << kHtpasswd;
      out << "auth:\n  htpasswd:\n    realm: basic-realm\n    path: " << (dir_.path / "htpasswd").string() << "\n";
    }
    out.close();
    proc_ = std::make_unique<Subprocess>(std::vector<std::string>{"docker-registry", "serve", cfg.string()});
    ready_ = wait_for_port(port_);
  }
  bool ready() const { return ready_; }
  int port() const { return port_; }
  std::string name() const { return fmt::format("127.0.0.1:{}", port_); }

 private:
  TempTree dir_;
  int port_ = 0;
  std::unique_ptr<Subprocess> proc_;
  bool ready_ = false;
};

class FakeRegistry {
 public:
  explicit FakeRegistry(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        python3(), (std::filesystem::path(__FILE__).parent_path() / "fake_registry.py").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc_ = std::make_unique<Subprocess>(argv);
    auto line = proc_->first_line();
    port_ = line.empty() ? 0 : std::stoi(line);
  }
  int port() const { return port_; }
  std::string name() const { return fmt::format("127.0.0.1:{}", port_); }
  std::string url(std::string_view path) const { return fmt::format("http://127.0.0.1:{}{}", port_, path); }

 private:
  std::unique_ptr<Subprocess> proc_;
  int port_ = 0;
};

}  // namespace hoist::test
