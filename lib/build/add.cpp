// ADD: COPY's work, plus local tar archives (compressed or not, recognised by
// content) unpacked into the destination, and http(s) URLs downloaded (with
// --checksum verified; the file is 0600 unless --chmod, as docker makes it).
// Remote archives are not unpacked, as docker does not.

#include <fcntl.h>
#include <unistd.h>

#include <fmt/core.h>

#include "archive/any_archive.h"
#include "build/builder.h"
#include "dockerfile/glob.h"
#include "http/client.h"
#include "io/fd_stream.h"
#include "io/hashing.h"
#include "sys/file_io.h"
#include "sys/openat2.h"

namespace hoist::build::detail {

namespace {

using json = nlohmann::json;

bool is_url(std::string_view s) { return s.starts_with("http://") || s.starts_with("https://"); }

// The file name a URL's path ends in ("https://h/a/b.tgz?x" -> "b.tgz").
std::string url_file_name(std::string_view url) {
  auto q = url.find_first_of("?#");
  std::string_view path = url.substr(0, q);
  auto scheme = path.find("://");
  path = scheme == std::string_view::npos ? path : path.substr(scheme + 3);
  auto slash = path.find('/');
  if (slash == std::string_view::npos) return "index.html";
  path = path.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  auto last = path.rfind('/');
  std::string name(path.substr(last + 1));
  return name.empty() || name == "." || name == ".." ? "index.html" : name;
}

struct Download {
  std::string url;
  std::string path;  // the bytes, in the step's temp dir
  std::string name;
  digest::Digest digest;
};

// The body is hashed with --checksum's algorithm (sha256 without one) as it
// is written, and may not take more than 90% of the space free in `dir`.
Result<Download> download(const std::string& url, const std::string& dir, digest::Algorithm algo,
                          std::stop_token stop) {
  static http::Client client;  // one per process: its loop thread serves every ADD
  Download d;
  d.url = url;
  d.name = url_file_name(url);
  d.path = dir + "/download-" + digest::sha256_of(url).short_hex();
  auto fd = HOIST_TRY(sys::open_file(d.path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  io::FdWriter file(fd.get());
  io::HashingWriter hashed(file, algo);
  http::Request req;
  req.url = url;
  req.stop = stop;
  uint64_t room = HOIST_TRY(sys::free_space(dir)) / 10 * 9;
  auto resp = HOIST_TRY_CTX(client.perform(req, &hashed, room), "cannot download '" + url + "'");
  if (!resp.ok()) return fail(http::status_error(resp).context("cannot download '" + url + "'"));
  HOIST_CHECK(fd.close());
  d.digest = hashed.digest();
  return d;
}

}  // namespace

Result<> Builder::add_cmd(StageState& s, const dockerfile::AddCmd& c, StepInfo& info) {
  size_t nsrc = c.sources.size() + c.contents.size();
  auto [dest, dest_dir] = copy_destination(s.config.config.working_dir, c.dest);
  if (nsrc > 1 && !dest_dir)
    return fail(Errc::kInvalidArgument,
                "when using ADD with more than one source file, the destination must be a directory and end with a /");
  std::vector<std::string> urls, locals;
  for (const auto& src : c.sources) (is_url(src) ? urls : locals).push_back(src);
  if (!c.checksum.empty() && (urls.size() != 1 || c.sources.size() != 1))
    return fail(Errc::kInvalidArgument, "--checksum needs exactly one http(s) source");
  std::optional<digest::Digest> want;
  if (!c.checksum.empty()) want = HOIST_TRY_CTX(digest::parse(c.checksum), "--checksum");

  CopyOptions copts;
  if (!c.chmod.empty()) copts.chmod = HOIST_TRY(parse_chmod(c.chmod));
  copts.excludes = HOIST_TRY(dockerfile::IgnoreMatcher::from_patterns(c.excludes));
  SourceTree* tree = nullptr;
  std::vector<std::string> matched;
  if (!locals.empty()) {
    tree = HOIST_TRY(context());
    for (const auto& src : locals) {
      auto m = tree->match(src);
      if (!m && m.error().code() == Errc::kNotFound && dockerfile::has_glob_meta(src)) continue;
      if (!m) return fail(std::move(m).error());
      for (auto& x : *m) matched.push_back(std::move(x));
    }
  }
  if (matched.size() > 1 || !urls.empty()) dest_dir = dest_dir || nsrc > 1;

  // URLs: fetched first (their content is part of the key), unless --checksum
  // already says what the content is.
  auto tmp = HOIST_TRY(snaps_->make_temp());
  std::vector<Download> downloads;
  json url_inputs = json::array();
  if (!want) {
    for (const auto& u : urls) {
      downloads.push_back(HOIST_TRY(download(u, tmp.path(), digest::Algorithm::kSha256, o_.stop)));
      url_inputs.push_back({u, downloads.back().digest.str()});
    }
  } else {
    url_inputs.push_back({urls[0], want->str()});
  }
  std::string content = tree ? HOIST_TRY(hasher_.digest(*tree, matched, copts.excludes)).str() : "";
  json heredocs = json::array();
  for (const auto& h : c.contents) heredocs.push_back({h.path, digest::sha256_of(h.data).str()});
  bool unpack = c.unpack.value_or(true);
  json inputs = {{"kind", "add"},       {"sources", c.sources}, {"dest", dest},         {"destIsDir", dest_dir},
                 {"chown", c.chown},    {"chmod", c.chmod},     {"link", c.link},       {"excludes", c.excludes},
                 {"content", content},  {"urls", url_inputs},   {"heredocs", heredocs}, {"unpack", unpack}};
  std::string created_by = copy_message("ADD", false, c.chown, c.chmod, c.sources, c.contents, c.dest);
  return layer_step(s, info, inputs, created_by, [&](StepRoot& root) -> Result<> {
    if (!c.chown.empty()) copts.chown = HOIST_TRY(resolve_chown(c.chown, root.merged()));
    auto droot = HOIST_TRY(sys::open_file(root.merged(), O_PATH | O_DIRECTORY));
    bool into_dir = dest_dir || is_dir_in_root(droot, dest);
    for (const auto& m : matched) {
      auto fd = HOIST_TRY(sys::open_in_root(tree->root(), m, O_RDONLY));
      struct stat st;
      if (unpack && ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && HOIST_TRY(archive::is_tar_archive(fd.get()))) {
        HOIST_CHECK_CTX(extract_archive_into(droot, dest, fd.get(), copts), "cannot unpack '" + m + "'");
        continue;
      }
      (void)HOIST_TRY(copy_sources(*tree, {m}, droot, dest, into_dir || matched.size() > 1, copts));
    }
    if (want) {
      downloads.push_back(HOIST_TRY(download(urls[0], tmp.path(), want->algorithm(), o_.stop)));
      if (downloads.back().digest != *want)
        return fail(Errc::kDigestMismatch, fmt::format("'{}' has digest '{}', --checksum says '{}'", urls[0],
                                                       downloads.back().digest.str(), want->str()));
    }
    for (const auto& d : downloads) {
      auto fd = HOIST_TRY(sys::open_file(d.path, O_RDONLY));
      std::string target = into_dir ? (dest == "/" ? "/" + d.name : dest + "/" + d.name) : dest;
      HOIST_CHECK(copy_fd_into(droot, target, fd.get(), 0600, copts, clamp()));
    }
    for (const auto& h : c.contents) {
      std::string target = into_dir ? (dest == "/" ? "/" + h.path : dest + "/" + h.path) : dest;
      HOIST_CHECK(write_file_into(droot, target, h.data, copts, clamp()));
    }
    return {};
  }, c.link);
}

}  // namespace hoist::build::detail
