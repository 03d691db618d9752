// SPDX-License-Identifier: MIT
// Registers with the provider and resolves "localhost" through the installed xwsk package.
#include <stdio.h>

#include <atomic>

#include "xwsk/xwsk.h"

namespace {
std::atomic<bool> g_done{false};
void on_done(xwsk::Request*, void*) {
  g_done.store(true);
}
}  // namespace

int main() {
  static const xwsk::ClientDispatch kDispatch = {xwsk::kWskVersion, 0, nullptr};
  xwsk::ClientNpi npi{nullptr, &kDispatch};
  xwsk::Registration reg{};
  xwsk::ProviderNpi provider{};
  if (xwsk::register_client(&npi, &reg) != xwsk::Status::Success) return 1;
  if (xwsk::capture_provider(&reg, xwsk::kInfiniteWait, &provider) != xwsk::Status::Success) {
    return 1;
  }
  xwsk::Request req{};
  xwsk::request_init(&req, on_done, nullptr);
  xwsk::AddrInfo* info = nullptr;
  xwsk::Status st =
      xwsk::get_address_info(provider.client, "localhost", nullptr, 0, nullptr, &info, &req);
  while (st == xwsk::Status::Pending && !g_done.load()) {
  }
  st = req.status;
  printf("%s: get_address_info(localhost) = %s\n", xwsk::backend_name(), xwsk::status_name(st));
  xwsk::free_address_info(provider.client, info);
  xwsk::request_free(&req);
  xwsk::release_provider(&reg);
  xwsk::deregister_client(&reg);
  return st == xwsk::Status::Success ? 0 : 1;
}
