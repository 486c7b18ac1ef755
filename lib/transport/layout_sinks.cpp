#include "transport/layout_sinks.h"

namespace hoist::transport {

// TODO(#2): lib/layout lands these.
Result<std::unique_ptr<Sink>> open_layout_sink(std::string_view) {
  return fail(Errc::kUnsupported, "oci: output is not built yet");
}
Result<std::unique_ptr<Sink>> open_oci_archive_sink(std::string_view, const std::string&) {
  return fail(Errc::kUnsupported, "oci-archive: output is not built yet");
}
Result<std::unique_ptr<Sink>> open_docker_archive_sink(std::string_view, const std::string&) {
  return fail(Errc::kUnsupported, "docker-archive: output is not built yet");
}

}  // namespace hoist::transport
