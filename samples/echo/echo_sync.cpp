// SPDX-License-Identifier: MIT
// Built into the user-space program and into the kernel driver (samples/echo-driver).
#include "echo_sync.h"

namespace echo {

using xwsk::Status;

// ---- SyncRequest ----------------------------------------------------------------------------

SyncRequest::SyncRequest() {
  initialized_ = xwsk::request_init(&req_, on_complete, this) == Status::Success;
}

SyncRequest::~SyncRequest() {
  if (initialized_) xwsk::request_free(&req_);
}

void SyncRequest::on_complete(xwsk::Request* req, void* context) {
  (void)req;
  static_cast<SyncRequest*>(context)->done_.set();
}

Status SyncRequest::finish(Status ret, uint32_t timeout_ms, const char* what) {
  if (ret != Status::Pending) {
    // Either completed inline (the routine already ran with this status) or rejected before
    // acceptance (no routine). In both cases there is nothing to wait for.
    done_.reset();
    return ret;
  }
  if (!done_.wait(timeout_ms)) {
    provider_hung(what, timeout_ms);  // user space: does not return
    // Kernel: the request (and this frame) belong to the provider until it completes.
    while (!done_.wait(timeout_ms)) {
    }
  }
  done_.reset();
  return req_.status;
}

// ---- Provider -------------------------------------------------------------------------------

Status Provider::open() {
  static const xwsk::ClientDispatch kDispatch = {xwsk::kWskVersion, 0, nullptr};
  xwsk::ClientNpi npi{this, &kDispatch};
  Status st = xwsk::register_client(&npi, &registration_);
  if (st != Status::Success) return st;
  registered_ = true;
  xwsk::ProviderNpi provider{};
  st = xwsk::capture_provider(&registration_, 10000, &provider);
  if (st != Status::Success) return st;
  captured_ = true;
  client_ = provider.client;
  return client_ != nullptr ? Status::Success : Status::Unsuccessful;
}

void Provider::close() {
  if (captured_) xwsk::release_provider(&registration_);
  captured_ = false;
  if (registered_) xwsk::deregister_client(&registration_);
  registered_ = false;
  client_ = nullptr;
}

// ---- synchronous helpers --------------------------------------------------------------------

Status create_socket(xwsk::Client* client, xwsk::AddressFamily family, xwsk::SocketType type,
                     xwsk::Protocol protocol, uint32_t category, void* context,
                     const void* dispatch, xwsk::Socket** out, uint32_t timeout_ms) {
  SyncRequest r;
  if (!r.ok()) return Status::InsufficientResources;
  Status st =
      r.finish(xwsk::socket(client, family, type, protocol, category, context, dispatch, r.get()),
               timeout_ms, "socket()");
  if (st == Status::Success) *out = reinterpret_cast<xwsk::Socket*>(r.information());
  return st;
}

Status bind_socket(xwsk::Socket* s, const xwsk::SockAddr& local, uint32_t timeout_ms) {
  SyncRequest r;
  if (!r.ok()) return Status::InsufficientResources;
  return r.finish(xwsk::bind(s, &local, 0, r.get()), timeout_ms, "bind()");
}

Status local_address(xwsk::Socket* s, xwsk::SockAddr* out, uint32_t timeout_ms) {
  SyncRequest r;
  if (!r.ok()) return Status::InsufficientResources;
  return r.finish(xwsk::get_local_address(s, out, r.get()), timeout_ms, "get_local_address()");
}

Status set_option(xwsk::Socket* s, uint32_t level, uint32_t code, uint32_t value,
                  uint32_t timeout_ms) {
  SyncRequest r;
  if (!r.ok()) return Status::InsufficientResources;
  return r.finish(xwsk::control_socket(s, xwsk::ControlType::SetOption, code, level, sizeof(value),
                                       &value, 0, nullptr, nullptr, r.get()),
                  timeout_ms, "control_socket()");
}

Status close_socket_wait(xwsk::Socket* s, uint32_t timeout_ms) {
  SyncRequest r;
  if (!r.ok()) return Status::InsufficientResources;
  return r.finish(xwsk::close_socket(s, r.get()), timeout_ms, "close_socket()");
}

}  // namespace echo
