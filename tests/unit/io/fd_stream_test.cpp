#include "io/fd_stream.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "io/copy.h"
#include "io/memory.h"
#include "io_test_util.h"

using namespace hoist;
using namespace hoist::io;
using namespace hoist::io::test;

TEST_CASE("fd reader and writer over a file") {
  TempDir dir;
  std::string data = layer_like(3 << 20);
  int fd = ::open((dir / "f").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  FdWriter w(fd);
  REQUIRE(w.write(bytes(data)).has_value());
  REQUIRE(w.close().has_value());
  ::close(fd);
  CHECK(read_file(dir / "f") == data);

  fd = ::open((dir / "f").c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  FdReader r(fd);
  CHECK(read_all(r, 100000).value() == data);
  ::close(fd);
}

TEST_CASE("fd streams over a pipe, blocking and non-blocking") {
  for (bool nonblock : {false, true}) {
    CAPTURE(nonblock);
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0)) == 0);
    std::string data = layer_like(1 << 20, 2);  // more than a pipe buffer: the writer must loop
    std::thread writer([&] {
      FdWriter w(p[1]);
      CHECK(w.write(bytes(data)).has_value());
      ::close(p[1]);
    });
    FdReader r(p[0]);
    StringWriter out;
    CHECK(copy(r, out, 4096).value() == data.size());
    writer.join();
    ::close(p[0]);
    CHECK(out.str() == data);
  }
}

TEST_CASE("fd errors carry errno and the descriptor") {
  ::signal(SIGPIPE, SIG_IGN);
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  ::close(p[0]);
  FdWriter w(p[1]);
  auto r = w.write(bytes("x"));
  REQUIRE(!r);
  CHECK(r.error().sys_errno() == EPIPE);
  CHECK(r.error().message() == "cannot write fd " + std::to_string(p[1]) + ": Broken pipe");
  ::close(p[1]);

  FdReader bad(p[1]);  // closed now
  std::byte buf[4];
  auto rr = bad.read(buf);
  REQUIRE(!rr);
  CHECK(rr.error().sys_errno() == EBADF);
}
