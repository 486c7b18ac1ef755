// A registry repository as a Sink: HEAD skips, cross-repository mounts,
// monolithic and chunked uploads that resume from what the registry holds,
// manifests by digest, tags last. Contract in transport/registry_sink.h.

#include "transport/registry_sink.h"

#include <fmt/core.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "http/client.h"
#include "util/log.h"

namespace hoist::transport {
namespace {

// A bounded byte buffer between the thread that calls write() (copy()'s
// worker) and the thread that runs the HTTP request and reads the body.
// Either side can end it: the writer with close() (end of body) or cancel()
// (the body will never be complete: the request must fail, never send a short
// body as if it were whole); the reader with reader_done() when its request
// has returned, so a writer blocked on a full buffer wakes up.
class Pipe {
 public:
  explicit Pipe(size_t capacity)
      : cap_(std::max<size_t>(capacity, 64 * 1024)), buf_(std::make_unique_for_overwrite<std::byte[]>(cap_)) {}

  // False when the request side has finished (its result says why).
  bool write(std::span<const std::byte> data) {
    std::unique_lock lk(mu_);
    while (!data.empty()) {
      cv_.wait(lk, [&] { return size_ < cap_ || reader_done_; });
      if (reader_done_) return false;
      size_t tail = (head_ + size_) % cap_;
      size_t n = std::min({data.size(), cap_ - size_, cap_ - tail});
      std::memcpy(buf_.get() + tail, data.data(), n);
      size_ += n;
      data = data.subspan(n);
      cv_.notify_all();
    }
    return true;
  }
  void close() {
    std::lock_guard lk(mu_);
    eof_ = true;
    cv_.notify_all();
  }
  void cancel(Error why) {
    std::lock_guard lk(mu_);
    if (!cancelled_) cancelled_ = std::move(why);
    cv_.notify_all();
  }
  void reader_done() {
    std::lock_guard lk(mu_);
    reader_done_ = true;
    cv_.notify_all();
  }

  Result<size_t> read(std::span<std::byte> out) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return size_ > 0 || eof_ || cancelled_; });
    if (cancelled_) return fail(*cancelled_);
    if (size_ == 0) return size_t(0);
    size_t n = std::min({out.size(), size_, cap_ - head_});
    std::memcpy(out.data(), buf_.get() + head_, n);
    head_ = (head_ + n) % cap_;
    size_ -= n;
    cv_.notify_all();
    return n;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t cap_;
  std::unique_ptr<std::byte[]> buf_;
  size_t head_ = 0, size_ = 0;
  bool eof_ = false;
  bool reader_done_ = false;
  std::optional<Error> cancelled_;
};

class PipeReader final : public io::Reader {
 public:
  explicit PipeReader(Pipe& p) : p_(p) {}
  Result<size_t> read(std::span<std::byte> buf) override { return p_.read(buf); }

 private:
  Pipe& p_;
};

class RegistrySink;

// One request in flight: a PATCH of bytes [start, end), or the monolithic PUT.
struct Request {
  explicit Request(size_t pipe_bytes) : pipe(pipe_bytes), reader(pipe) {}
  Pipe pipe;
  PipeReader reader;
  registry::UploadSession session;  // the request thread's copy; read after join
  uint64_t start = 0, end = 0;
  bool put = false;
  Result<> result;
  std::jthread thread;
};

class RegistryBlobWriter final : public BlobWriter {
 public:
  RegistryBlobWriter(RegistrySink& sink, image::Descriptor d, registry::UploadSession session, bool monolithic)
      : sink_(sink), d_(std::move(d)), session_(std::move(session)), monolithic_(monolithic),
        start_(session_.offset), written_(session_.offset) {}
  ~RegistryBlobWriter() override { stop_request(); }

  uint64_t offset() const override { return start_; }
  Result<> write(std::span<const std::byte> data) override;
  Result<> send_file(const BlobFile& file, const std::function<void(uint64_t)>& progress,
                     std::stop_token stop) override;
  Result<> commit() override;
  void abort() override;

 private:
  Result<> start_request();
  Result<> end_request();
  Error request_failed(Error e);
  Result<> sticky(Result<> r) {
    if (!r) failed_ = r.error();
    return r;
  }
  void stop_request() {
    if (!current_) return;
    current_->pipe.cancel(Error(Errc::kCancelled, "upload abandoned"));
    if (current_->thread.joinable()) current_->thread.join();
    current_.reset();
  }
  std::string what() const;

  RegistrySink& sink_;
  image::Descriptor d_;
  registry::UploadSession session_;
  bool monolithic_;
  uint64_t start_;
  uint64_t written_;
  std::unique_ptr<Request> current_;
  std::optional<Error> failed_;
  bool done_ = false;
};

class RegistrySink final : public Sink {
 public:
  RegistrySink(std::shared_ptr<registry::RegistryClient> client, ref::Reference dest, RegistrySinkOptions options,
               std::unique_ptr<store::Store> store, UploadTuning tuning)
      : client_(std::move(client)),
        dest_(std::move(dest)),
        options_(std::move(options)),
        store_(std::move(store)),
        tuning_(tuning) {}

  Result<bool> has_blob(const image::Descriptor& d) override;
  Result<std::unique_ptr<BlobWriter>> put_blob(const image::Descriptor& d) override;
  Result<> put_manifest(const RawManifest& m) override;
  Result<> commit_image(const CopiedImage& image) override;
  std::string display_name(const CopiedImage&) const override { return dest_.name(); }
  // The registry checks the digest of every upload's closing PUT.
  bool verifies_blobs() const override { return true; }

  registry::RegistryClient& client() { return *client_; }
  const UploadTuning& tuning() const { return tuning_; }
  std::string where() const { return fmt::format("{}/{}", dest_.registry(), dest_.repository()); }

  // The session of a chunked upload, for a later put_blob() (store, or memory
  // without one). Failures to record are logged: they only cost a resume.
  void save_session(const digest::Digest& d, const registry::UploadSession& s);
  void drop_session(const digest::Digest& d);

 private:
  std::optional<registry::UploadSession> load_session(const digest::Digest& d);
  Result<registry::UploadSession> new_session();
  std::optional<std::string> mount_source(const digest::Digest& d);

  std::shared_ptr<registry::RegistryClient> client_;
  ref::Reference dest_;
  RegistrySinkOptions options_;
  std::unique_ptr<store::Store> store_;
  UploadTuning tuning_;
  std::mutex mu_;
  std::map<digest::Digest, registry::UploadSession> pending_;  // opened by a 202 to a mount
  std::map<digest::Digest, registry::UploadSession> memory_;   // sessions without a store
};

// ---- RegistryBlobWriter

std::string RegistryBlobWriter::what() const {
  return fmt::format("cannot upload blob '{}' to '{}'", d_.digest.str(), sink_.where());
}

Result<> RegistryBlobWriter::write(std::span<const std::byte> data) {
  if (failed_) return fail(*failed_);
  if (done_) return fail(Errc::kInternal, fmt::format("{}: write after commit", what()));
  if (data.size() > d_.size - written_)
    return sticky(fail(Errc::kInvalidArgument,
                       fmt::format("{}: more bytes than its descriptor's {}", what(), d_.size)));
  while (!data.empty()) {
    if (!current_) HOIST_CHECK(sticky(start_request()));
    size_t n = size_t(std::min<uint64_t>(data.size(), current_->end - written_));
    if (!current_->pipe.write(data.first(n))) {
      // The request ended before taking its whole body: its result says why.
      current_->thread.join();
      Result<> r = std::move(current_->result);
      current_.reset();
      if (r) r = fail(Errc::kUnavailable, fmt::format("{}: the registry answered before the body was sent", what()));
      return sticky(fail(request_failed(std::move(r).error())));
    }
    written_ += n;
    data = data.subspan(n);
    // The last request ends in commit(), so its errors (a digest the registry
    // refuses) come from there.
    if (written_ == current_->end && written_ < d_.size) HOIST_CHECK(sticky(end_request()));
  }
  return {};
}

// The bytes go from the file to the socket on the HTTP client's loop thread
// (http::FileBody), each request made here on the caller's thread: no pipe,
// no request thread. The same requests, session records and failure handling
// as write(); only the last one, the closing PUT, is left to commit().
Result<> RegistryBlobWriter::send_file(const BlobFile& file, const std::function<void(uint64_t)>& progress,
                                       std::stop_token stop) {
  if (failed_) return fail(*failed_);
  if (done_ || current_ || written_ != start_)
    return fail(Errc::kInternal, fmt::format("{}: send_file after write", what()));
  if (file.size != d_.size)
    return sticky(fail(Errc::kInvalidArgument, fmt::format("{}: the file '{}' holds {} bytes; its descriptor says {}",
                                                           what(), file.path, file.size, d_.size)));
  auto& client = sink_.client();
  auto body = [&](uint64_t from, uint64_t length) {
    http::FileBody b(file.fd->get(), file.offset + from, length);
    b.stop = stop;
    if (progress) b.on_progress = [&progress, from](uint64_t sent) { progress(from + sent); };
    return b;
  };
  auto cancelled = [&] { return fail(Errc::kCancelled, fmt::format("{}: cancelled", what())); };
  if (monolithic_) {
    if (stop.stop_requested()) return sticky(cancelled());
    auto b = body(0, d_.size);
    auto r = client.finish_upload(session_, d_.digest, &b, d_.size);
    if (!r) return sticky(fail(request_failed(std::move(r).error())));
    written_ = d_.size;  // commit() has nothing more to send
    return {};
  }
  while (written_ < d_.size) {
    if (stop.stop_requested()) return sticky(cancelled());
    if (session_.offset != written_)
      return sticky(fail(Errc::kInternal, fmt::format("{}: session at byte {}, data at {}", what(), session_.offset,
                                                      written_)));
    uint64_t end = std::min(d_.size, written_ + sink_.tuning().chunk_size);
    auto b = body(written_, end - written_);
    registry::UploadSession s = session_;
    auto r = client.upload_chunk(s, b, end - written_);
    if (!r) return sticky(fail(request_failed(std::move(r).error())));
    session_ = s;
    written_ = end;
    sink_.save_session(d_.digest, session_);
    if (session_.offset != end)
      return sticky(fail(Errc::kUnavailable, fmt::format("{}: the registry holds {} bytes after a chunk ending at "
                                                         "byte {}; resuming from there",
                                                         what(), session_.offset, end)));
    if (progress) progress(end);
  }
  return {};
}

Result<> RegistryBlobWriter::start_request() {
  auto rq = std::make_unique<Request>(sink_.tuning().pipe_bytes);
  rq->session = session_;
  rq->start = written_;
  auto& client = sink_.client();
  if (monolithic_) {
    rq->put = true;
    rq->end = d_.size;
    Request* p = rq.get();
    rq->thread = std::jthread([p, &client, d = d_] {
      auto r = client.finish_upload(p->session, d.digest, &p->reader, d.size);
      if (!r) p->result = fail(std::move(r).error());
      p->pipe.reader_done();
    });
  } else {
    if (session_.offset != written_)
      return fail(Errc::kInternal, fmt::format("{}: session at byte {}, data at {}", what(), session_.offset,
                                               written_));
    rq->end = std::min(d_.size, written_ + sink_.tuning().chunk_size);
    Request* p = rq.get();
    rq->thread = std::jthread([p, &client] {
      p->result = client.upload_chunk(p->session, p->reader, p->end - p->start);
      p->pipe.reader_done();
    });
  }
  current_ = std::move(rq);
  return {};
}

Result<> RegistryBlobWriter::end_request() {
  current_->pipe.close();
  current_->thread.join();
  auto rq = std::move(current_);
  if (!rq->result) return fail(request_failed(std::move(rq->result).error()));
  session_ = rq->session;
  if (rq->put) return {};
  if (session_.offset != rq->end) {
    // The registry acknowledged another amount than we sent: resume from its.
    sink_.save_session(d_.digest, session_);
    return fail(Errc::kUnavailable, fmt::format("{}: the registry holds {} bytes after a chunk ending at byte {}; "
                                                "resuming from there",
                                                what(), session_.offset, rq->end));
  }
  sink_.save_session(d_.digest, session_);
  return {};
}

// Turns a failed request into the error copy() sees: kUnavailable where a new
// put_blob() can resume or restart, after bringing the recorded session in
// line with the registry.
Error RegistryBlobWriter::request_failed(Error e) {
  auto& client = sink_.client();
  int status = e.http_status();
  // A connection that broke under a request body: curl reports a reused
  // connection's reset as "cannot rewind the body" (CURLE_SEND_FAIL_REWIND,
  // kIo), since a streamed body cannot be sent again. Whatever the registry
  // took, its status says; so this is as retryable as a plain reset.
  if (status == 0 && e.code() == Errc::kIo) e = Error(Errc::kUnavailable, e.message());
  if (monolithic_) {
    // Nothing of a monolithic upload is kept; a retry opens a new session.
    (void)client.cancel_upload(session_);
    if (status == 401 || status == 404 || status == 416 || e.code() == Errc::kUnavailable)
      return Error(Errc::kUnavailable, fmt::format("{}: {}", what(), e.message()));
    return std::move(e).context(what());
  }
  if (status == 416) {
    // Our Content-Range did not start where the registry is: ask where it is.
    auto st = client.upload_status(session_);
    if (!st) {
      if (st.error().code() == Errc::kNotFound) sink_.drop_session(d_.digest);
      return Error(Errc::kUnavailable, fmt::format("{}: chunk refused ({}); {}", what(), e.message(),
                                                   st.error().message()));
    }
    if (st->offset == 0 && session_.offset == 0) {
      // It refused a first chunk at 0 and reports 0 ("0-0" is also what
      // distribution says for one byte): a new session costs nothing.
      (void)client.cancel_upload(*st);
      sink_.drop_session(d_.digest);
      return Error(Errc::kUnavailable,
                   fmt::format("{}: the registry refused the first chunk ({}); starting over", what(), e.message()));
    }
    sink_.save_session(d_.digest, *st);
    return Error(Errc::kUnavailable, fmt::format("{}: chunk at byte {} refused ({}); the registry holds {} bytes, "
                                                 "resuming from there",
                                                 what(), session_.offset, e.message(), st->offset));
  }
  if (status == 404) {
    sink_.drop_session(d_.digest);
    return Error(Errc::kUnavailable, fmt::format("{}: the registry lost the upload session ({}); starting over",
                                                 what(), e.message()));
  }
  if (status == 401)
    return Error(Errc::kUnavailable, fmt::format("{}: token refused mid-upload ({}); resuming with a new one",
                                                 what(), e.message()));
  if (e.code() == Errc::kDigestMismatch || e.code() == Errc::kInvalidArgument) {
    (void)client.cancel_upload(session_);
    sink_.drop_session(d_.digest);
  }
  return std::move(e).context(what());
}

Result<> RegistryBlobWriter::commit() {
  if (done_) return {};
  if (failed_) return fail(*failed_);
  if (written_ != d_.size)
    return sticky(fail(Errc::kInvalidArgument,
                       fmt::format("{}: the blob ended after {} of {} bytes", what(), written_, d_.size)));
  if (current_) HOIST_CHECK(sticky(end_request()));
  if (!monolithic_ || d_.size == 0) {
    // Chunked (or empty): the closing PUT ?digest= carries no body and is
    // retried by the client, 5xx included.
    auto r = sink_.client().finish_upload(session_, d_.digest);
    if (!r) {
      Error e = std::move(r).error();
      if (e.http_status() == 404) {
        sink_.drop_session(d_.digest);
        return sticky(fail(Errc::kUnavailable,
                           fmt::format("{}: the registry lost the upload session ({}); starting over", what(),
                                       e.message())));
      }
      if (e.code() == Errc::kDigestMismatch || e.code() == Errc::kInvalidArgument) {
        (void)sink_.client().cancel_upload(session_);
        sink_.drop_session(d_.digest);
      }
      return sticky(fail(std::move(e).context(what())));
    }
  }
  if (!monolithic_) sink_.drop_session(d_.digest);
  done_ = true;
  return {};
}

void RegistryBlobWriter::abort() {
  stop_request();
  if (!done_) {
    (void)sink_.client().cancel_upload(session_);
    sink_.drop_session(d_.digest);
  }
  failed_ = Error(Errc::kCancelled, fmt::format("{}: aborted", what()));
}

// ---- RegistrySink

void RegistrySink::save_session(const digest::Digest& d, const registry::UploadSession& s) {
  if (!store_) {
    std::lock_guard lk(mu_);
    memory_[d] = s;
    return;
  }
  store::UploadSession u;
  u.registry = dest_.registry();
  u.repository = dest_.repository();
  u.digest = d;
  u.url = s.location;
  u.offset = s.offset;
  if (auto r = store_->index().put_upload(u); !r)
    log::warn("cannot record the upload of blob '{}' to '{}' for a resume: {}", d.str(), where(),
              r.error().message());
}

void RegistrySink::drop_session(const digest::Digest& d) {
  if (!store_) {
    std::lock_guard lk(mu_);
    memory_.erase(d);
    return;
  }
  if (auto r = store_->index().remove_upload(dest_.registry(), dest_.repository(), d); !r)
    log::warn("cannot forget the upload of blob '{}' to '{}': {}", d.str(), where(), r.error().message());
}

std::optional<registry::UploadSession> RegistrySink::load_session(const digest::Digest& d) {
  if (!store_) {
    std::lock_guard lk(mu_);
    auto it = memory_.find(d);
    if (it == memory_.end()) return std::nullopt;
    return it->second;
  }
  auto r = store_->index().get_upload(dest_.registry(), dest_.repository(), d);
  if (!r) {
    log::warn("cannot read the upload record of blob '{}' to '{}': {}", d.str(), where(), r.error().message());
    return std::nullopt;
  }
  if (!*r) return std::nullopt;
  registry::UploadSession s;
  s.repository = dest_.repository();
  s.location = (*r)->url;
  s.offset = (*r)->offset;
  return s;
}

Result<registry::UploadSession> RegistrySink::new_session() { return client_->start_upload(dest_.repository()); }

// Another repository of this registry that the store says holds `d`.
std::optional<std::string> RegistrySink::mount_source(const digest::Digest& d) {
  if (!store_) return std::nullopt;
  auto names = store_->index().blob_sources(d);
  if (!names) {
    log::debug("cannot read the sources of blob '{}': {}", d.str(), names.error().message());
    return std::nullopt;
  }
  std::string prefix = dest_.registry() + "/";
  for (const auto& n : *names) {
    if (!n.starts_with(prefix)) continue;
    std::string repo = n.substr(prefix.size());
    if (repo != dest_.repository() && !repo.empty()) return repo;
  }
  return std::nullopt;
}

Result<bool> RegistrySink::has_blob(const image::Descriptor& d) {
  auto size = HOIST_TRY(client_->head_blob(dest_.repository(), d.digest));
  if (size) return true;
  auto from = mount_source(d.digest);
  if (!from) return false;
  auto m = client_->mount_blob(dest_.repository(), d.digest, *from);
  if (!m) {
    // A hint that did not work out (no pull access there, say): upload instead.
    log::debug("{}", m.error().message());
    return false;
  }
  if (m->mounted) return true;
  if (m->session) {
    std::lock_guard lk(mu_);
    pending_[d.digest] = *m->session;
  }
  return false;
}

Result<std::unique_ptr<BlobWriter>> RegistrySink::put_blob(const image::Descriptor& d) {
  std::string what = fmt::format("cannot upload blob '{}' to '{}'", d.digest.str(), where());
  bool chunked = d.size >= tuning_.monolithic_max;
  std::optional<registry::UploadSession> session;
  {
    std::lock_guard lk(mu_);
    if (auto it = pending_.find(d.digest); it != pending_.end()) {
      session = it->second;
      pending_.erase(it);
    }
  }
  if (!session) {
    if (auto saved = load_session(d.digest)) {
      // Resume: the registry says how much it has.
      auto st = client_->upload_status(*saved);
      if (st && st->offset <= d.size) {
        save_session(d.digest, *st);
        return std::unique_ptr<BlobWriter>(std::make_unique<RegistryBlobWriter>(*this, d, *st, false));
      }
      if (st) {
        // More than the blob: not ours to trust; start over.
        (void)client_->cancel_upload(*st);
        drop_session(d.digest);
      } else if (st.error().code() == Errc::kNotFound) {
        log::debug("{}: the registry lost the upload session; starting over", what);
        drop_session(d.digest);
      } else {
        return fail(std::move(st).error().context(what));
      }
    }
  }
  if (!session) session = HOIST_TRY_CTX(new_session(), what);
  session->offset = 0;
  if (chunked) save_session(d.digest, *session);
  return std::unique_ptr<BlobWriter>(std::make_unique<RegistryBlobWriter>(*this, d, *session, !chunked));
}

Result<> RegistrySink::put_manifest(const RawManifest& m) {
  HOIST_CHECK(client_->put_manifest(dest_.repository(), m.descriptor.digest.str(), m.bytes,
                                    m.descriptor.media_type));
  return {};
}

Result<> RegistrySink::commit_image(const CopiedImage& image) {
  const RawManifest* root = nullptr;
  for (const auto& m : image.manifests)
    if (m.descriptor.digest == image.root.digest) root = &m;
  if (!root)
    return fail(Errc::kInternal, fmt::format("cannot tag '{}': the root manifest is not among the image's", where()));
  if (dest_.digest() && *dest_.digest() != image.root.digest)
    return fail(Errc::kDigestMismatch, fmt::format("cannot push to '{}@{}': the image's digest is '{}'", dest_.name(),
                                                   dest_.digest()->str(), image.root.digest.str()));
  std::vector<std::string> tags;
  if (!dest_.tag().empty()) tags.push_back(dest_.tag());
  for (const auto& t : options_.tags)
    if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
  for (const auto& t : tags)
    HOIST_CHECK(client_->put_manifest(dest_.repository(), t, root->bytes, root->descriptor.media_type));

  // Everything of the image is in this repository now: a later push to another
  // repository of this registry can mount from here.
  if (store_) {
    std::set<digest::Digest> all;
    for (const auto& m : image.manifests) all.insert(m.descriptor.digest);
    for (const auto& [parent, child] : image.edges) all.insert(child.digest);
    std::vector<digest::Digest> v(all.begin(), all.end());
    if (auto r = store_->index().put_blob_sources(v, dest_.name()); !r)
      log::warn("cannot record that '{}' holds the image's blobs: {}", dest_.name(), r.error().message());
  }
  return {};
}

}  // namespace

std::unique_ptr<Sink> make_registry_sink(std::shared_ptr<registry::RegistryClient> client, ref::Reference dest,
                                         RegistrySinkOptions options, std::unique_ptr<store::Store> store,
                                         UploadTuning tuning) {
  return std::make_unique<RegistrySink>(std::move(client), std::move(dest), std::move(options), std::move(store),
                                        tuning);
}

Result<std::unique_ptr<Sink>> open_registry_sink(Registries& registries, std::string_view text,
                                                 const RegistrySinkOptions& options) {
  if (text.starts_with("docker://")) text.remove_prefix(9);
  auto dest = HOIST_TRY(ref::parse_reference(text));
  for (const auto& t : options.tags)
    if (!ref::valid_tag(t)) return fail(Errc::kUsage, fmt::format("invalid tag '{}'", t));
  std::string dir = options.store_dir.empty() ? store::default_store_dir() : options.store_dir;
  std::unique_ptr<store::Store> st;
  if (auto s = store::Store::open(dir)) {
    st = std::move(*s);
  } else {
    // Pushing needs no store: only resuming after a restart and mounting do.
    log::warn("pushing without the store '{}' (no resume after a restart, no mounts): {}", dir,
              s.error().message());
  }
  auto client = registry_client(registries, dest.registry());
  return make_registry_sink(std::move(client), std::move(dest), options, std::move(st));
}

}  // namespace hoist::transport
