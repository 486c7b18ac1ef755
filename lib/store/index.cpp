#include "store/index.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/metadata.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <ctime>
#include <fstream>
#include <memory>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "image/media_types.h"
#include "sys/file_io.h"
#include "util/log.h"
#include "util/strings.h"

namespace hoist::store {
namespace {

using json = nlohmann::json;

constexpr std::string_view kVersionKey = "v1/version";
constexpr std::string_view kRefPrefix = "v1/ref/";
constexpr std::string_view kBlobPrefix = "v1/blob/";
constexpr std::string_view kEdgePrefix = "v1/edge/";
constexpr std::string_view kDiffIdPrefix = "v1/diffid/";
constexpr std::string_view kLayerPrefix = "v1/layer/";
constexpr std::string_view kSourcePrefix = "v1/source/";
constexpr std::string_view kCachePrefix = "v1/cache/";
constexpr std::string_view kIndexJsonStaleKey = "v1/meta/index-json";

// Every open of a database would otherwise create (and rotate) an info LOG file:
// noise, and a race between concurrent read-only opens renaming LOG to LOG.old.
class NullLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

rocksdb::Options db_options() {
  rocksdb::Options o;
  o.OptimizeForSmallDb();
  o.create_if_missing = true;
  o.info_log = std::make_shared<NullLogger>();
  // The database is open for milliseconds at a time: a background compaction
  // would only be cancelled by the close (and would make close wait). Compaction
  // runs in the foreground instead, see maintain().
  o.disable_auto_compactions = true;
  // Nothing may depend on RocksDB's background threads: a process that used the
  // store and then fork()s (tests do; a tool might) has a child whose copy of
  // Env::Default()'s thread pool believes its threads exist, so a Flush() or
  // CompactRange() there waits forever. Hence: the WAL is flushed in the
  // foreground by the next open (the default recovery), the memtable is large
  // enough never to fill in one session, compaction is CompactFiles() in the
  // caller's thread (maintain()), and no periodic tasks.
  o.write_buffer_size = 64 << 20;
  o.stats_dump_period_sec = 0;
  o.stats_persist_period_sec = 0;
  o.keep_log_file_num = 1;
  o.max_manifest_file_size = 1 << 20;
  return o;
}

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }

int64_t now_seconds() { return int64_t(std::time(nullptr)); }

// An open database under the store lock; the DB is closed before the lock is
// released (members destroy in reverse order).
struct Session {
  Session(LockFile l, std::unique_ptr<rocksdb::DB> d) : lock(std::move(l)), db(std::move(d)) {}
  Session(Session&&) = default;
  ~Session() {
    if (db) (void)db->Close();
  }
  LockFile lock;
  std::unique_ptr<rocksdb::DB> db;
};

Error db_error(const rocksdb::Status& s, std::string_view what, const std::string& dir) {
  Errc code = s.IsBusy() || s.IsTryAgain() || s.IsTimedOut() ? Errc::kUnavailable : Errc::kIo;
  return Error(code, fmt::format("cannot {} the index of store '{}': {}", what, dir, s.ToString()));
}

std::string what_store(const std::string& dir) { return fmt::format("store '{}'", dir); }

Result<Session> open_session(const std::string& dir, std::chrono::milliseconds timeout, bool write) {
  auto lock = HOIST_TRY(LockFile::acquire(dir + "/lock", write ? LockFile::Mode::kExclusive : LockFile::Mode::kShared,
                                          timeout, what_store(dir)));
  rocksdb::DB* raw = nullptr;
  std::string path = dir + "/db";
  // No database yet (a fresh store, see Index::init()): reads find nothing.
  if (!write && !sys::exists(path + "/CURRENT")) return Session(std::move(lock), nullptr);
  rocksdb::Status s = write ? rocksdb::DB::Open(db_options(), path, &raw)
                            : rocksdb::DB::OpenForReadOnly(db_options(), path, &raw);
  if (!s.ok()) return fail(db_error(s, "open", dir));
  return Session(std::move(lock), std::unique_ptr<rocksdb::DB>(raw));
}

Result<std::optional<std::string>> get(Session& s, std::string_view key, const std::string& dir) {
  if (!s.db) return std::nullopt;
  std::string value;
  rocksdb::Status st = s.db->Get(rocksdb::ReadOptions(), slice(key), &value);
  if (st.IsNotFound()) return std::nullopt;
  if (!st.ok()) return fail(db_error(st, "read", dir));
  return value;
}

// Calls fn(key-suffix, value) for every key under prefix, in key order.
template <typename Fn>
Result<> scan(Session& s, std::string_view prefix, const std::string& dir, Fn&& fn) {
  if (!s.db) return {};
  std::unique_ptr<rocksdb::Iterator> it(s.db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(slice(prefix)); it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    std::string_view value(it->value().data(), it->value().size());
    HOIST_CHECK(fn(key.substr(prefix.size()), value));
  }
  if (!it->status().ok()) return fail(db_error(it->status(), "read", dir));
  return {};
}

Result<> write(Session& s, rocksdb::WriteBatch& batch, const std::string& dir) {
  rocksdb::WriteOptions wo;
  wo.sync = true;  // the index entry is the commit point of an image
  batch.Put(slice(kVersionKey), slice(kIndexVersion));  // the first write creates the database
  rocksdb::Status st = s.db->Write(wo, &batch);
  if (!st.ok()) return fail(db_error(st, "write", dir));
  return {};
}

// Every writable open turns the previous session's WAL into one small table file
// (see db_options()), and with no background compaction they would accumulate and
// slow every open. Merge them into one, in this thread, when there are 8: a few
// milliseconds every few writes for a small database.
void maintain(Session& s) {
  rocksdb::ColumnFamilyMetaData meta;
  s.db->GetColumnFamilyMetaData(&meta);
  std::vector<std::string> files;
  for (const auto& level : meta.levels)
    if (level.level <= 1)
      for (const auto& f : level.files) files.push_back(f.name);
  if (files.size() < 8) return;
  (void)s.db->CompactFiles(rocksdb::CompactionOptions(), files, 1);  // best effort: the data is already safe
}

Result<image::Descriptor> parse_descriptor(std::string_view value, std::string_view key, const std::string& dir) {
  json j = json::parse(value, nullptr, false);
  auto d = image::descriptor_from_json(j);
  if (!d) return fail(Errc::kIo, fmt::format("corrupt index entry '{}' in store '{}': {}", key, dir, d.error().message()));
  return std::move(*d);
}

Result<BlobRecord> parse_blob_record(std::string_view value, std::string_view key, const std::string& dir) {
  json j = json::parse(value, nullptr, false);
  if (!j.is_object() || !j.contains("size") || !j["size"].is_number_unsigned())
    return fail(Errc::kIo, fmt::format("corrupt index entry '{}' in store '{}'", key, dir));
  BlobRecord r;
  r.size = j["size"].get<uint64_t>();
  if (j.contains("mediaType") && j["mediaType"].is_string()) r.media_type = j["mediaType"].get<std::string>();
  if (j.contains("lastUsed") && j["lastUsed"].is_number_integer()) r.last_used = j["lastUsed"].get<int64_t>();
  return r;
}

// Rewrites index.json from the refs; called with the exclusive lock held, so the
// file always reflects one consistent set of refs (never a merge of two writers).
Result<> write_index_json(Session& s, const std::string& dir) {
  nlohmann::ordered_json manifests = nlohmann::ordered_json::array();
  HOIST_CHECK(scan(s, kRefPrefix, dir, [&](std::string_view name, std::string_view value) -> Result<> {
    auto d = HOIST_TRY(parse_descriptor(value, name, dir));
    d.annotations[std::string(kRefNameAnnotation)] = std::string(name);
    manifests.push_back(image::to_json(d));
    return {};
  }));
  nlohmann::ordered_json index;
  index["schemaVersion"] = 2;
  index["mediaType"] = image::media_type::kOciIndex;
  index["manifests"] = std::move(manifests);
  HOIST_CHECK(sys::write_file_atomic(dir + "/index.json", index.dump() + "\n"));
  // Not synced: losing this delete only costs one needless rebuild.
  (void)s.db->Delete(rocksdb::WriteOptions(), slice(kIndexJsonStaleKey));
  return {};
}

std::string source_key(const digest::Digest& d, std::string_view name) {
  return fmt::format("{}{}/{}", kSourcePrefix, d.str(), name);
}

// STORE/uploads/<sha256 of "registry/repository/digest">.json
std::string upload_path(const std::string& store, std::string_view registry, std::string_view repository,
                        const digest::Digest& d) {
  auto key = digest::sha256_of(fmt::format("{}/{}/{}", registry, repository, d.str()));
  return fmt::format("{}/uploads/{}.json", store, key.hex());
}

}  // namespace

Index::Index(std::string store_dir, std::chrono::milliseconds lock_timeout)
    : dir_(std::move(store_dir)), timeout_(lock_timeout) {}

Result<> Index::init(bool create_in_background) {
  bool fresh = !sys::exists(dir_ + "/db/CURRENT");
  if (fresh) {
    auto create = [](const std::string& dir, std::chrono::milliseconds timeout) -> Result<> {
      auto s = HOIST_TRY(open_session(dir, timeout, true));
      if (HOIST_TRY(get(s, kVersionKey, dir))) return {};  // another process was first
      rocksdb::WriteBatch b;  // write() adds the version key
      HOIST_CHECK(write(s, b, dir));
      return write_index_json(s, dir);
    };
    if (!create_in_background) return create(dir_, timeout_);
    // Creating a RocksDB database costs a dozen fsyncs: a thread of its own does
    // it while the caller goes on (a pull into a new store downloads meanwhile).
    // Its session holds the exclusive store lock, so every other session, in this
    // process or another, waits for it; should it fail, the first write creates
    // the database itself and reports the error.
    creator_ = std::jthread([dir = dir_, timeout = timeout_, create] {
      if (auto r = create(dir, timeout); !r) log::debug("creating the index of store '{}': {}", dir, r.error().message());
    });
    return {};
  }
  bool repair = !sys::exists(dir_ + "/index.json");
  {
    auto s = HOIST_TRY(open_session(dir_, timeout_, false));
    auto v = HOIST_TRY(get(s, kVersionKey, dir_));
    if (v && *v != kIndexVersion)
      return fail(Errc::kUnsupported,
                  fmt::format("store '{}' has index version {}; this hoist reads version {}", dir_, *v, kIndexVersion));
    auto stale = HOIST_TRY(get(s, kIndexJsonStaleKey, dir_));
    if (v && !stale && !repair) return {};
  }
  auto s = HOIST_TRY(open_session(dir_, timeout_, true));
  auto v = HOIST_TRY(get(s, kVersionKey, dir_));
  if (v && *v != kIndexVersion)
    return fail(Errc::kUnsupported,
                fmt::format("store '{}' has index version {}; this hoist reads version {}", dir_, *v, kIndexVersion));
  if (!v) {
    rocksdb::WriteBatch b;
    b.Put(slice(kVersionKey), slice(kIndexVersion));
    HOIST_CHECK(write(s, b, dir_));
  }
  return write_index_json(s, dir_);
}

Result<> Index::record_image(const ImageRecord& rec) {
  if (!rec.root.digest.valid()) return fail(Errc::kInvalidArgument, "cannot record an image without a root digest");
  rocksdb::WriteBatch b;
  const int64_t now = now_seconds();
  if (!rec.name.empty()) {
    b.Put(slice(fmt::format("{}{}", kRefPrefix, rec.name)), slice(image::to_json(rec.root).dump()));
    b.Put(slice(kIndexJsonStaleKey), "stale");
  }
  auto put_blob = [&](const image::Descriptor& d) {
    json v = {{"size", d.size}, {"mediaType", d.media_type}, {"lastUsed", now}};
    b.Put(slice(fmt::format("{}{}", kBlobPrefix, d.digest.str())), slice(v.dump()));
  };
  put_blob(rec.root);
  for (const auto& d : rec.blobs) put_blob(d);
  if (!rec.source.empty()) {
    std::string v = json{{"updated", now}}.dump();
    b.Put(slice(source_key(rec.root.digest, rec.source)), slice(v));
    for (const auto& d : rec.blobs) b.Put(slice(source_key(d.digest, rec.source)), slice(v));
  }
  for (const auto& e : rec.edges)
    b.Put(slice(fmt::format("{}{}/{}", kEdgePrefix, e.parent.str(), e.child.str())), rocksdb::Slice());
  for (const auto& p : rec.diff_ids) {
    b.Put(slice(fmt::format("{}{}/{}", kDiffIdPrefix, p.diff_id.str(), p.compressed.str())), rocksdb::Slice());
    b.Put(slice(fmt::format("{}{}", kLayerPrefix, p.compressed.str())), slice(p.diff_id.str()));
  }
  auto s = HOIST_TRY(open_session(dir_, timeout_, true));
  HOIST_CHECK(write(s, b, dir_));
  if (!rec.name.empty()) HOIST_CHECK(write_index_json(s, dir_));
  maintain(s);
  return {};
}

Result<std::optional<image::Descriptor>> Index::resolve(std::string_view name) {
  auto s = HOIST_TRY(open_session(dir_, timeout_, false));
  std::string key = fmt::format("{}{}", kRefPrefix, name);
  auto v = HOIST_TRY(get(s, key, dir_));
  if (!v) return std::optional<image::Descriptor>();
  auto d = HOIST_TRY(parse_descriptor(*v, key, dir_));
  return std::optional<image::Descriptor>(std::move(d));
}

Result<std::vector<RefEntry>> Index::list_refs() {
  auto s = HOIST_TRY(open_session(dir_, timeout_, false));
  std::vector<RefEntry> out;
  HOIST_CHECK(scan(s, kRefPrefix, dir_, [&](std::string_view name, std::string_view value) -> Result<> {
    auto d = HOIST_TRY(parse_descriptor(value, name, dir_));
    out.push_back(RefEntry{std::string(name), std::move(d)});
    return {};
  }));
  return out;
}

Result<> Index::remove_ref(std::string_view name) {
  auto s = HOIST_TRY(open_session(dir_, timeout_, true));
  std::string key = fmt::format("{}{}", kRefPrefix, name);
  auto v = HOIST_TRY(get(s, key, dir_));
  if (!v) return fail(Errc::kNotFound, fmt::format("ref '{}' not found in store '{}'", name, dir_));
  rocksdb::WriteBatch b;
  b.Delete(slice(key));
  b.Put(slice(kIndexJsonStaleKey), "stale");
  HOIST_CHECK(write(s, b, dir_));
  HOIST_CHECK(write_index_json(s, dir_));
  maintain(s);
  return {};
}

Result<std::vector<digest::Digest>> Index::children(const digest::Digest& parent) {
  auto s = HOIST_TRY(open_session(dir_, timeout_, false));
  std::vector<digest::Digest> out;
  std::string prefix = fmt::format("{}{}/", kEdgePrefix, parent.str());
  HOIST_CHECK(scan(s, prefix, dir_, [&](std::string_view child, std::string_view) -> Result<> {
    auto d = digest::parse(child);
    if (!d) return fail(Errc::kIo, fmt::format("corrupt index key '{}{}' in store '{}'", prefix, child, dir_));
    out.push_back(std::move(*d));
    return {};
  }));
  return out;
}

Result<std::optional<BlobRecord>> Index::blob_record(const digest::Digest& d) {
  auto s = HOIST_TRY(open_session(dir_, timeout_, false));
  std::string key = fmt::format("{}{}", kBlobPrefix, d.str());
  auto v = HOIST_TRY(get(s, key, dir_));
  if (!v) return std::optional<BlobRecord>();
  auto r = HOIST_TRY(parse_blob_record(*v, key, dir_));
  return std::optional<BlobRecord>(std::move(r));
}

Result<std::vector<std::pair<digest::Digest, BlobRecord>>> Index::list_blob_records() {
  auto s = HOIST_TRY(open_session(dir_, timeout_, false));
  std::vector<std::pair<digest::Digest, BlobRecord>> out;
  HOIST_CHECK(scan(s, kBlobPrefix, dir_, [&](std::string_view key, std::string_view value) -> Result<> {
    auto d = digest::parse(key);
    if (!d) return fail(Errc::kIo, fmt::format("corrupt index key '{}{}' in store '{}'", kBlobPrefix, key, dir_));
    auto r = HOIST_TRY(parse_blob_record(value, key, dir_));
    out.emplace_back(std::move(*d), std::move(r));
    return {};
  }));
  return out;
}

Result<std::optional<digest::Digest>> Index::diff_id_of(const digest::Digest& compressed) {
  auto s = HOIST_TRY(open_session(dir_, timeout_, false));
  std::string key = fmt::format("{}{}", kLayerPrefix, compressed.str());
  auto v = HOIST_TRY(get(s, key, dir_));
  if (!v) return std::optional<digest::Digest>();
  auto d = digest::parse(*v);
  if (!d) return fail(Errc::kIo, fmt::format("corrupt index entry '{}' in store '{}'", key, dir_));
  return std::optional<digest::Digest>(std::move(*d));
}

Result<std::vector<digest::Digest>> Index::compressed_of(const digest::Digest& diff_id) {
  auto s = HOIST_TRY(open_session(dir_, timeout_, false));
  std::vector<digest::Digest> out;
  std::string prefix = fmt::format("{}{}/", kDiffIdPrefix, diff_id.str());
  HOIST_CHECK(scan(s, prefix, dir_, [&](std::string_view key, std::string_view) -> Result<> {
    auto d = digest::parse(key);
    if (!d) return fail(Errc::kIo, fmt::format("corrupt index key '{}{}' in store '{}'", prefix, key, dir_));
    out.push_back(std::move(*d));
    return {};
  }));
  return out;
}

Result<> Index::put_blob_sources(const std::vector<digest::Digest>& digests, std::string_view name) {
  if (name.empty() || digests.empty()) return {};
  rocksdb::WriteBatch b;
  std::string v = json{{"updated", now_seconds()}}.dump();
  for (const auto& d : digests) b.Put(slice(source_key(d, name)), slice(v));
  auto s = HOIST_TRY(open_session(dir_, timeout_, true));
  HOIST_CHECK(write(s, b, dir_));
  maintain(s);
  return {};
}

Result<std::optional<std::string>> Index::get_cache(std::string_view key) {
  auto s = HOIST_TRY(open_session(dir_, timeout_, false));
  return get(s, std::string(kCachePrefix) + std::string(key), dir_);
}

Result<> Index::put_cache(std::string_view key, std::string_view record) {
  rocksdb::WriteBatch b;
  b.Put(slice(std::string(kCachePrefix) + std::string(key)), slice(record));
  auto s = HOIST_TRY(open_session(dir_, timeout_, true));
  HOIST_CHECK(write(s, b, dir_));
  maintain(s);
  return {};
}

Result<std::vector<std::pair<std::string, std::string>>> Index::list_cache() {
  auto s = HOIST_TRY(open_session(dir_, timeout_, false));
  std::vector<std::pair<std::string, std::string>> out;
  HOIST_CHECK(scan(s, kCachePrefix, dir_, [&](std::string_view key, std::string_view value) -> Result<> {
    out.emplace_back(std::string(key), std::string(value));
    return {};
  }));
  return out;
}

Result<> Index::put_cache_and_sources(const std::vector<std::pair<std::string, std::string>>& records,
                                     const std::vector<std::pair<digest::Digest, std::string>>& sources) {
  if (records.empty() && sources.empty()) return {};
  rocksdb::WriteBatch b;
  for (const auto& [key, record] : records) b.Put(slice(std::string(kCachePrefix) + key), slice(record));
  std::string v = json{{"updated", now_seconds()}}.dump();
  for (const auto& [d, name] : sources) b.Put(slice(source_key(d, name)), slice(v));
  auto s = HOIST_TRY(open_session(dir_, timeout_, true));
  HOIST_CHECK(write(s, b, dir_));
  maintain(s);
  return {};
}

Result<std::vector<std::string>> Index::blob_sources(const digest::Digest& d) {
  auto s = HOIST_TRY(open_session(dir_, timeout_, false));
  std::vector<std::pair<int64_t, std::string>> found;
  std::string prefix = fmt::format("{}{}/", kSourcePrefix, d.str());
  HOIST_CHECK(scan(s, prefix, dir_, [&](std::string_view name, std::string_view value) -> Result<> {
    json j = json::parse(value, nullptr, false);
    int64_t updated = 0;
    if (j.is_object() && j.contains("updated") && j["updated"].is_number_integer()) updated = j["updated"].get<int64_t>();
    found.emplace_back(updated, std::string(name));
    return {};
  }));
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

// Upload sessions live in STORE/uploads/, a small file each, not in the
// database: one is saved after every chunk a registry acknowledges, and a
// database write (a dozen fsyncs) there would stall the upload. Not synced
// either: a session lost to a crash, or a torn file (read as none), only means
// that blob's upload starts over.
Result<> Index::put_upload(const UploadSession& u) {
  json v = {{"registry", u.registry}, {"repository", u.repository}, {"digest", u.digest.str()},
            {"url", u.url},           {"offset", u.offset},         {"updated", now_seconds()}};
  std::string dir = dir_ + "/uploads";
  HOIST_CHECK(sys::mkdir_all(dir));
  std::string path = upload_path(dir_, u.registry, u.repository, u.digest);
  std::string tmp = fmt::format("{}.tmp.{}-{}", path, ::getpid(), ::gettid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << v.dump();
    if (!out.flush()) return fail(Errc::kIo, fmt::format("cannot write '{}'", tmp));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return fail(Error::from_errno(e, fmt::format("cannot rename '{}' to '{}'", tmp, path)));
  }
  return {};
}

Result<std::optional<UploadSession>> Index::get_upload(std::string_view registry, std::string_view repository,
                                                       const digest::Digest& d) {
  std::string path = upload_path(dir_, registry, repository, d);
  auto text = sys::read_file(path, 64 * 1024);
  if (!text) {
    if (text.error().code() == Errc::kNotFound) return std::optional<UploadSession>();
    return fail(std::move(text).error());
  }
  json j = json::parse(*text, nullptr, false);
  // A torn or foreign file is no session (see put_upload).
  if (!j.is_object() || !j.contains("url") || !j["url"].is_string() || !j.contains("offset") ||
      !j["offset"].is_number_unsigned() || j.value("registry", "") != registry ||
      j.value("repository", "") != repository || j.value("digest", "") != d.str()) {
    log::debug("ignoring unreadable upload session '{}'", path);
    return std::optional<UploadSession>();
  }
  UploadSession u;
  u.registry = registry;
  u.repository = repository;
  u.digest = d;
  u.url = j["url"].get<std::string>();
  u.offset = j["offset"].get<uint64_t>();
  if (j.contains("updated") && j["updated"].is_number_integer()) u.updated = j["updated"].get<int64_t>();
  return std::optional<UploadSession>(std::move(u));
}

Result<> Index::remove_upload(std::string_view registry, std::string_view repository, const digest::Digest& d) {
  std::string path = upload_path(dir_, registry, repository, d);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return fail(Error::from_errno(errno, fmt::format("cannot remove '{}'", path)));
  return {};
}

}  // namespace hoist::store
