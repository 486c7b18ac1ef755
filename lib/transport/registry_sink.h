#pragma once
// A registry repository as a Sink (hoist-push; open_registry_sink() in
// transport/open.h). distribution-spec spec.md "Pushing blobs", "Pushing
// manifests".
//
// has_blob: HEAD in the destination repository. When absent there, and the
//   store's v1/source records (store/index.h) name another repository of the
//   same registry holding the blob, a cross-repository mount (POST
//   ?mount=&from=): 201 means present; a 202 is an upload session the next
//   put_blob() of that blob uses.
// put_blob: a BlobWriter that pushes the bytes copy() writes into it:
//   - blobs under UploadTuning::monolithic_max: POST, then one PUT ?digest=
//     with the whole body;
//   - larger ones: POST, PATCHes of chunk_size bytes (Content-Range), then a
//     PUT ?digest= with no body. After each chunk the registry acknowledges,
//     the session (its Location and offset) is recorded in the store
//     (Index::put_upload), so a later put_blob() of the same blob, in this
//     process or the next, asks the registry for the session's status (GET,
//     Range) and resumes: offset() is what the registry holds. A session the
//     registry lost (404) is dropped and the upload starts over.
//   Bytes stream: write() hands them through a bounded buffer
//   (UploadTuning::pipe_bytes) to the request, which runs on a thread of the
//   writer's own (http::Client reads a request body on the thread that calls
//   perform()); nothing holds a blob, nothing spools it to disk.
//   send_file() (a local blob's file, BlobFile) makes the same requests on the
//   caller's thread with an http::FileBody: the client's loop preads the file
//   straight into the socket's send buffer. The sink verifies_blobs(): the
//   registry checks each upload's digest at its closing PUT (DIGEST_INVALID,
//   kDigestMismatch), so copy() sends local blobs unhashed.
//   Failures that a retry can mend come back as kUnavailable, so copy()'s
//   per-blob retry calls put_blob() again and resumes: a chunk refused with
//   416 (the registry's offset is asked and recorded), a 401 mid-upload (the
//   token was dropped; the next request fetches one), a lost session, a cut
//   connection, 5xx after the client's own retries.
// put_manifest: PUT by digest, bytes unchanged (copy() sends children first,
//   and only after every blob).
// commit_image: PUT the root under the reference's tag and every
//   RegistrySinkOptions::tags entry, then records in the store that this
//   repository holds every blob and manifest of the image (v1/source).
//
// The store is optional: without one (it cannot be opened), sessions are
// remembered for this process only and nothing is mounted.
//
// Thread-safe: put_blob() and the writers may be used from several threads
// (one writer per thread).

#include <cstdint>
#include <memory>

#include "ref/reference.h"
#include "registry/client.h"
#include "store/store.h"
#include "transport/open.h"

namespace hoist::transport {

struct UploadTuning {
  uint64_t monolithic_max = 8 << 20;  // blobs smaller than this: one PUT
  uint64_t chunk_size = 32 << 20;     // PATCH size for larger blobs
  size_t pipe_bytes = 1 << 20;        // buffered between write() and the request
};

// The RegistryClient the run's Registries holds for `registry`
// (registry_source.cpp: one per registry, shared by sources and sinks).
std::shared_ptr<registry::RegistryClient> registry_client(Registries& registries, const std::string& registry);

// What open_registry_sink() builds, with the pieces given: `store` may be null.
std::unique_ptr<Sink> make_registry_sink(std::shared_ptr<registry::RegistryClient> client, ref::Reference dest,
                                         RegistrySinkOptions options, std::unique_ptr<store::Store> store,
                                         UploadTuning tuning = {});

}  // namespace hoist::transport
