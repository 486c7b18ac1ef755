#include "build/output.h"

#include "ref/reference.h"
#include "store/store.h"
#include "transport/copy.h"

namespace hoist::build {

Result<Delivered> deliver(const BuildResult& built, const OutputOptions& o, ProgressSink& progress) {
  if (o.push && o.tags.empty()) return fail(Errc::kUsage, "--push needs a --tag naming where to push");
  std::vector<ref::Reference> refs;
  for (const auto& t : o.tags) refs.push_back(HOIST_TRY_CTX(ref::parse_reference(t), "invalid --tag '" + t + "'"));
  std::string dir = o.store_dir.empty() ? store::default_store_dir() : o.store_dir;
  Delivered d;
  {
    auto store = HOIST_TRY(store::Store::open(dir));
    for (const auto& r : refs) {
      (void)HOIST_TRY(store->add_image(r.str(), built.manifest));
      d.tags.push_back(r.str());
    }
  }
  d.pinned = refs.empty() ? built.manifest.digest.str() : refs[0].with_digest(built.manifest.digest).str();
  // The image as a local source: by its first tag (names the export), else by digest.
  std::string local = refs.empty() ? built.manifest.digest.str() : refs[0].str();
  transport::CopyOptions co;
  co.jobs = o.jobs;
  co.stop = o.stop;
  if (o.output != "store") {
    auto src = HOIST_TRY(transport::open_source(local, dir));
    auto sink = HOIST_TRY(transport::open_sink(o.output, dir));
    (void)HOIST_TRY_CTX(transport::copy(*src, *sink, co, progress), "cannot write '" + o.output + "'");
    HOIST_CHECK_CTX(sink->finish(), "cannot write '" + o.output + "'");
  }
  if (o.push) {
    auto regs = HOIST_TRY(transport::open_registries(o.registry));
    transport::RegistrySinkOptions so;
    so.store_dir = dir;
    for (const auto& r : refs) {
      auto src = HOIST_TRY(transport::open_source(r.str(), dir));
      auto sink = HOIST_TRY(transport::open_registry_sink(*regs, r.str(), so));
      auto res = HOIST_TRY_CTX(transport::copy(*src, *sink, co, progress), "cannot push '" + r.str() + "'");
      HOIST_CHECK_CTX(sink->finish(), "cannot push '" + r.str() + "'");
      d.pushed.push_back(r.with_digest(res.root.digest).str());
    }
  }
  return d;
}

}  // namespace hoist::build
