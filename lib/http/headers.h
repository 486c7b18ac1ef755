#pragma once
// http::Headers: an ordered list of HTTP header fields with case-insensitive
// names (RFC 9110 5.1). Multi-valued: add() appends, set() replaces every field
// of that name. Values are stored as received, without the trailing CRLF and
// with surrounding whitespace trimmed. Thread-compatible.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hoist::http {

class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  void add(std::string name, std::string value);
  void set(std::string name, std::string value);  // removes others of that name first
  void remove(std::string_view name);
  void clear() { fields_.clear(); }

  // First value of `name`, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  // Every value of `name`, in order received.
  std::vector<std::string_view> get_all(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }

  const std::vector<Field>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }
  size_t size() const { return fields_.size(); }

 private:
  std::vector<Field> fields_;
};

// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);

}  // namespace hoist::http
