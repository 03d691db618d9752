// SPDX-License-Identifier: MIT
// Unit test (ctest label `unit`): the one host-error table of the user-space backends
// (backends/common/status_map.h). A conformance case cannot see errno; this checks the table
// itself, the rows the backends used to disagree on, and (when the uv backend is built) that
// libuv codes reach the same statuses through it.
#include <errno.h>
#include <gtest/gtest.h>
#include <netdb.h>

#include <set>

#include "status_map.h"
#include "xwsk/status.h"

#if XWSK_TEST_UV
#include <uv.h>
namespace xwsk::uv {
Status from_uv(int uv_error);  // backends/uv/status.cpp
}
#endif

namespace {

using xwsk::Status;
using xwsk::hostnet::status_from_eai;
using xwsk::hostnet::status_from_errno;

TEST(status_map, one_row_per_code) {
  size_t n = 0;
  const xwsk::hostnet::StatusRow* rows = xwsk::hostnet::errno_rows(&n);
  std::set<int> seen;
  for (size_t i = 0; i < n; ++i) {
    EXPECT_TRUE(seen.insert(rows[i].code).second) << "errno " << rows[i].code << " twice";
    EXPECT_EQ(rows[i].status, status_from_errno(rows[i].code));
  }
  rows = xwsk::hostnet::eai_rows(&n);
  seen.clear();
  for (size_t i = 0; i < n; ++i) {
    EXPECT_TRUE(seen.insert(rows[i].code).second) << "EAI " << rows[i].code << " twice";
    EXPECT_EQ(rows[i].status, status_from_eai(rows[i].code, 0));
  }
}

// The codes posix and uv mapped differently before the table was shared, decided once
// (status_map.cpp says by what).
TEST(status_map, decided_rows) {
  EXPECT_EQ(Status::InvalidDeviceState, status_from_errno(ENOTCONN));
  EXPECT_EQ(Status::InvalidDeviceState, status_from_errno(EALREADY));
  EXPECT_EQ(Status::InvalidDeviceState, status_from_errno(ESHUTDOWN));
  EXPECT_EQ(Status::InvalidParameter, status_from_errno(EPROTONOSUPPORT));
  EXPECT_EQ(Status::Cancelled, status_from_errno(ECANCELED));
  EXPECT_EQ(Status::InvalidParameter, status_from_errno(EFAULT));
  EXPECT_EQ(Status::NotFound, status_from_eai(EAI_SERVICE, 0));
  EXPECT_EQ(Status::BufferTooSmall, status_from_eai(EAI_OVERFLOW, 0));
  EXPECT_EQ(Status::NotFound, status_from_eai(EAI_FAIL, 0));
  EXPECT_EQ(Status::NotFound, status_from_eai(EAI_NONAME, 0));
  EXPECT_EQ(Status::ConnectionRefused, status_from_errno(ECONNREFUSED));
  EXPECT_EQ(Status::AddressAlreadyAssociated, status_from_errno(EADDRINUSE));
  // EAI_SYSTEM defers to errno; unknown codes are Unsuccessful.
  EXPECT_EQ(Status::ConnectionReset, status_from_eai(EAI_SYSTEM, ECONNRESET));
  EXPECT_EQ(Status::Success, status_from_errno(0));
  EXPECT_EQ(Status::Unsuccessful, status_from_errno(-12345));
  EXPECT_EQ(Status::Unsuccessful, status_from_eai(-12345, 0));
}

#if XWSK_TEST_UV
// libuv's codes go through the same table: UV_E* are negated errno values, UV_EAI_* map to
// their EAI_* counterparts.
TEST(status_map, uv_uses_the_same_table) {
  size_t n = 0;
  const xwsk::hostnet::StatusRow* rows = xwsk::hostnet::errno_rows(&n);
  for (size_t i = 0; i < n; ++i) {
    if (rows[i].code == 0) continue;
    EXPECT_EQ(rows[i].status, xwsk::uv::from_uv(-rows[i].code)) << "errno " << rows[i].code;
  }
  const struct {
    int uv;
    int eai;
  } eai[] = {{UV_EAI_SERVICE, EAI_SERVICE}, {UV_EAI_OVERFLOW, EAI_OVERFLOW},
             {UV_EAI_FAIL, EAI_FAIL},       {UV_EAI_NONAME, EAI_NONAME},
             {UV_EAI_AGAIN, EAI_AGAIN},     {UV_EAI_FAMILY, EAI_FAMILY}};
  for (const auto& e : eai) {
    EXPECT_EQ(status_from_eai(e.eai, 0), xwsk::uv::from_uv(e.uv)) << "UV code " << e.uv;
  }
  EXPECT_EQ(Status::Cancelled, xwsk::uv::from_uv(UV_EAI_CANCELED));
  EXPECT_EQ(Status::Cancelled, xwsk::uv::from_uv(UV_ECANCELED));
  EXPECT_EQ(Status::Success, xwsk::uv::from_uv(0));
}
#endif

}  // namespace
