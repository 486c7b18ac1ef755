#pragma once
// Sinks that write OCI layouts and archives (lib/layout underneath).
//   oci:DIR[:TAG]          blobs straight into DIR (resumable ingest), index.json
//                          entry per image under an flock, ref.name = TAG
//   oci-archive:FILE|-     images staged in the store (blobs only, no refs), then
//                          one tar stream written by finish()
//   docker-archive:FILE    likewise, in docker save's format

#include <memory>
#include <string>
#include <string_view>

#include "transport/transport.h"

namespace hoist::transport {

Result<std::unique_ptr<Sink>> open_layout_sink(std::string_view dir_and_tag);
Result<std::unique_ptr<Sink>> open_oci_archive_sink(std::string_view path, const std::string& store_dir);
Result<std::unique_ptr<Sink>> open_docker_archive_sink(std::string_view path, const std::string& store_dir);

}  // namespace hoist::transport
