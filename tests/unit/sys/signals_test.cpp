#include "sys/signals.h"

#include <doctest/doctest.h>

#include <csignal>

using namespace hoist;

TEST_CASE("parse_signal accepts runc's spellings") {
  CHECK(sys::parse_signal("KILL").value() == SIGKILL);
  CHECK(sys::parse_signal("SIGKILL").value() == SIGKILL);
  CHECK(sys::parse_signal("sigterm").value() == SIGTERM);
  CHECK(sys::parse_signal("9").value() == 9);
  CHECK(sys::parse_signal("RTMIN+2").value() == SIGRTMIN + 2);
  CHECK(sys::parse_signal("SIGRTMAX-1").value() == SIGRTMAX - 1);
  CHECK(!sys::parse_signal("SIGFOO"));
  CHECK(!sys::parse_signal("0"));
  CHECK(!sys::parse_signal("999"));
  CHECK(!sys::parse_signal("RTMIN+100"));
  CHECK(sys::parse_signal("").error().code() == Errc::kInvalidArgument);
}

TEST_CASE("signal_name") {
  CHECK(sys::signal_name(SIGTERM) == "SIGTERM");
  CHECK(sys::signal_name(SIGRTMIN + 3) == "SIGRTMIN+3");
}
