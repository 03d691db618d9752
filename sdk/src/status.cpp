// SPDX-License-Identifier: MIT
#include "xwsk/status.h"

namespace xwsk {

const char* status_name(Status s) {
  switch (s) {
#define XWSK_STATUS_CASE_(name, text, value) \
  case Status::name:                         \
    return text;
    XWSK_STATUS_LIST(XWSK_STATUS_CASE_)
#undef XWSK_STATUS_CASE_
  }
  return "STATUS_<unknown>";
}

}  // namespace xwsk
