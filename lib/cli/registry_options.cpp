#include "cli/registry_options.h"

#include <algorithm>

namespace hoist::cli {

void add_registry_options(cxxopts::Options& opts, bool mirrors) {
  opts.add_options("Registry")
      ("creds", "USER:PASSWORD for the registry", cxxopts::value<std::string>())
      ("authfile", "credentials file in docker config.json form", cxxopts::value<std::string>())
      ("tls-verify", "verify the registry's TLS certificate (--tls-verify=false to skip)",
       cxxopts::value<bool>()->default_value("true")->implicit_value("true"))
      ("cert-dir", "directory with CA (*.crt) and client (*.cert, *.key) certificates", cxxopts::value<std::string>())
      ("insecure-registry", "use plain HTTP for HOST[:PORT] (repeatable; loopback always is)",
       cxxopts::value<std::vector<std::string>>())
      ("retries", "attempts per request before giving up", cxxopts::value<int>()->default_value("5"));
  if (mirrors) {
    opts.add_options("Registry")
        ("mirror", "REGISTRY=URL: try URL before REGISTRY (repeatable)", cxxopts::value<std::vector<std::string>>());
  }
}

transport::RegistryOptions registry_options(const cxxopts::ParseResult& args) {
  transport::RegistryOptions r;
  r.tls_verify = args["tls-verify"].as<bool>();
  if (args.count("cert-dir")) r.cert_dir = args["cert-dir"].as<std::string>();
  if (args.count("insecure-registry")) r.insecure = args["insecure-registry"].as<std::vector<std::string>>();
  if (args.count("mirror")) r.mirrors = args["mirror"].as<std::vector<std::string>>();
  if (args.count("creds")) r.creds = args["creds"].as<std::string>();
  if (args.count("authfile")) r.authfile = args["authfile"].as<std::string>();
  r.attempts = std::max(1, args["retries"].as<int>());
  return r;
}

}  // namespace hoist::cli
