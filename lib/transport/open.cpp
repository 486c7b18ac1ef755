#include "transport/open.h"

#include <fmt/core.h>

#include "store/store.h"
#include "transport/layout_sinks.h"
#include "transport/store_sink.h"

namespace hoist::transport {

Result<std::unique_ptr<Sink>> open_sink(std::string_view text, const std::string& store_dir) {
  if (text == "store" || text.empty()) {
    std::string dir = store_dir.empty() ? store::default_store_dir() : store_dir;
    // A new store's index is created while the first blobs download.
    store::StoreOptions options;
    options.create_in_background = true;
    auto st = HOIST_TRY(store::Store::open(dir, options));
    return std::make_unique<StoreSink>(std::move(st));
  }
  auto colon = text.find(':');
  std::string_view kind = text.substr(0, colon);
  std::string_view rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  if (colon == std::string_view::npos || rest.empty())
    return fail(Errc::kUsage, fmt::format("invalid output '{}': use store, oci:DIR[:TAG], oci-archive:FILE|- or "
                                          "docker-archive:FILE",
                                          text));
  if (kind == "oci") return open_layout_sink(rest);
  if (kind == "oci-archive") return open_oci_archive_sink(rest, store_dir);
  if (kind == "docker-archive") return open_docker_archive_sink(rest, store_dir);
  return fail(Errc::kUsage, fmt::format("unknown output '{}': use store, oci:DIR[:TAG], oci-archive:FILE|- or "
                                        "docker-archive:FILE",
                                        kind));
}

}  // namespace hoist::transport
