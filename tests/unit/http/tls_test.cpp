// TLS options against a real HTTPS server with a throwaway CA (openssl CLI).
#include <doctest/doctest.h>
#include <fmt/core.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "http/client.h"
#include "io/memory.h"
#include "unit/http/subprocess.h"

using namespace hoist;
namespace fs = std::filesystem;

namespace {

struct Pki {
  fs::path dir;
  bool ok = false;
  Pki() {
    char tmpl[] = "/tmp/hoist-tls-XXXXXX";
    dir = mkdtemp(tmpl);
    std::ofstream(dir / "san.ext") << "subjectAltName=IP:127.0.0.1\n";
    std::string script = fmt::format(R"(cd '{}' && exec >/dev/null 2>&1 &&
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=hoist-test-ca &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 &&
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout client.key -out client.csr -subj /CN=client &&
      openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 &&
      mkdir certs.d certs.d/with-client && cp ca.pem certs.d/ca.crt && cp ca.pem certs.d/with-client/ca.crt &&
      cp client.pem certs.d/with-client/client.cert && cp client.key certs.d/with-client/client.key)",
                                     dir.string());
    ok = std::system(("bash -c \"" + script + "\"").c_str()) == 0;
  }
  ~Pki() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

struct TlsServer {
  test::Subprocess proc;
  int port = 0;
  TlsServer(const Pki& pki, bool want_client_cert)
      : proc([&] {
          std::vector<std::string> argv = {test::python3(),
                                           (fs::path(__FILE__).parent_path() / "test_server.py").string(), "--tls",
                                           (pki.dir / "server.pem").string(), (pki.dir / "server.key").string()};
          if (want_client_cert) argv.push_back((pki.dir / "ca.pem").string());
          return argv;
        }()) {
    auto line = proc.first_line();
    port = line.empty() ? 0 : std::stoi(line);
  }
};

Result<http::Response> fetch(http::Client& c, int port, http::TlsOptions tls, io::StringWriter& out) {
  http::Request req;
  req.url = fmt::format("https://127.0.0.1:{}/bytes?n=1000", port);
  req.tls = std::move(tls);
  return c.perform(req, &out);
}

}  // namespace

TEST_CASE("https: system CAs refuse a private CA; cert_dir *.crt trusts it; verify=false skips checks") {
  Pki pki;
  if (!pki.ok) {
    MESSAGE("openssl CLI unavailable; skipping");
    return;
  }
  TlsServer srv(pki, false);
  REQUIRE(srv.port > 0);
  http::Client c;

  io::StringWriter a;
  auto r = fetch(c, srv.port, {}, a);
  REQUIRE(!r.has_value());
  CHECK(r.error().code() == Errc::kIo);
  CHECK(r.error().message().starts_with(fmt::format("GET https://127.0.0.1:{}/bytes: ", srv.port)));

  io::StringWriter b;
  r = fetch(c, srv.port, http::TlsOptions{true, (pki.dir / "certs.d").string()}, b);
  REQUIRE_MESSAGE(r.has_value(), r.error().message());
  CHECK(r->status == 200);
  CHECK(b.str().size() == 1000);

  io::StringWriter d;
  r = fetch(c, srv.port, http::TlsOptions{false, ""}, d);
  REQUIRE(r.has_value());
  CHECK(d.str().size() == 1000);
}

TEST_CASE("https: a client certificate from cert_dir (*.cert + *.key)") {
  Pki pki;
  if (!pki.ok) {
    MESSAGE("openssl CLI unavailable; skipping");
    return;
  }
  TlsServer srv(pki, true);
  REQUIRE(srv.port > 0);
  http::Client c;
  io::StringWriter a;
  auto r = fetch(c, srv.port, http::TlsOptions{true, (pki.dir / "certs.d").string()}, a);
  REQUIRE(!r.has_value());  // no client certificate offered

  io::StringWriter b;
  r = fetch(c, srv.port, http::TlsOptions{true, (pki.dir / "certs.d/with-client").string()}, b);
  REQUIRE_MESSAGE(r.has_value(), r.error().message());
  CHECK(b.str().size() == 1000);
}
