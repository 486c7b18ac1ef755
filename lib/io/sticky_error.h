#pragma once
// Internal to lib/io: remembers the first error a stream reported so that later
// calls report it again (stream.h: "after a filter reports an error it is broken").

#include <optional>
#include <utility>

#include "util/result.h"

namespace hoist::io::detail {

class StickyError {
 public:
  bool failed() const { return err_.has_value(); }
  // The remembered error; only valid when failed().
  std::unexpected<Error> get() const { return fail(*err_); }
  // Remembers e unless an error is already remembered; returns the remembered one.
  std::unexpected<Error> set(Error e) {
    if (!err_) err_ = std::move(e);
    return fail(*err_);
  }

 private:
  std::optional<Error> err_;
};

}  // namespace hoist::io::detail
