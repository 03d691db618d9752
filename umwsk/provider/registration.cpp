// SPDX-License-Identifier: MIT
// registration.cpp: WskRegister, WskCaptureProviderNPI, WskReleaseProviderNPI,
// WskQueryProviderCharacteristics, WskDeregister (exported, C linkage), NPI_WSK_INTERFACE_ID and
// WSK_PROVIDER_DISPATCH.
//
// A registration owns one xwsk client, registered and captured by WskRegister and released and
// deregistered by WskDeregister. WSK captures are counted here: the provider NPI is available as
// soon as WskRegister returned, so WskCaptureProviderNPI never waits; once WskDeregister began
// it fails with STATUS_DEVICE_NOT_READY, as WSK documents. WskDeregister waits (PASSIVE_LEVEL)
// until every capture is released, every provider socket closed and every client-level call
// returned, then deregisters the xwsk client.
#include "provider.h"
#include "rt_internal.h"

extern "C" UMWSK_PROVIDER_API const NPIID NPI_WSK_INTERFACE_ID = {
    0x2227E803, 0x8D8B, 0x11D4, {0xAB, 0xAD, 0x00, 0x90, 0x27, 0x71, 0x9E, 0x09}};

namespace umwsk::provider {

namespace {

constexpr USHORT kVersion = MAKE_WSK_VERSION(1, 0);

std::atomic<int32_t> g_registrations{0};  // live registrations: the last one flushes the quarantine
constexpr ULONGLONG kRegisteredState = 0x554d57534b524547ull;    // "UMWSKREG"
constexpr ULONGLONG kDeregisteredState = 0x554d57534b444552ull;  // "UMWSKDER"

Registration* from_registration(PWSK_REGISTRATION r) {
  if (r == nullptr || r->ReservedRegistrationState != kRegisteredState) return nullptr;
  auto* reg = static_cast<Registration*>(r->ReservedRegistrationContext);
  if (reg == nullptr || reg->magic != kRegistrationMagic) return nullptr;
  return reg;
}

bool idle(const Registration* reg) {
  return chaos_deferred() == 0 && reg->captures.load(std::memory_order_acquire) == 0 &&
         reg->sockets.load(std::memory_order_acquire) == 0 &&
         reg->calls.load(std::memory_order_acquire) == 0;
}

}  // namespace

const WSK_PROVIDER_DISPATCH kProviderDispatch = {kVersion,
                                                 0,
                                                 wsk_socket,
                                                 wsk_socket_connect,
                                                 wsk_control_client,
                                                 wsk_get_address_info,
                                                 wsk_free_address_info,
                                                 wsk_get_name_info};

Registration* registration_of(PWSK_CLIENT client) {
  auto* reg = static_cast<Registration*>(client);
  if (reg == nullptr || reg->magic != kRegistrationMagic || !reg->xwsk_registered) return nullptr;
  return reg;
}

void registration_changed(Registration* reg) {
  if (reg->deregistering.load(std::memory_order_acquire) != 0) {
    KeSetEvent(&reg->idle, IO_NO_INCREMENT, FALSE);
  }
}

CallScope::CallScope(Registration* reg) : reg_(reg) {
  reg_->calls.fetch_add(1, std::memory_order_acq_rel);
}

CallScope::~CallScope() {
  if (reg_->calls.fetch_sub(1, std::memory_order_acq_rel) == 1) registration_changed(reg_);
}

void count(Counter which, int delta) {
  switch (which) {
    case Counter::Sockets:
      UmwskRtCount(UmwskRtSockets, delta);
      break;
    case Counter::RetainedIndications:
      UmwskRtCount(UmwskRtRetainedIndications, delta);
      break;
    case Counter::Registrations:
      UmwskRtCount(UmwskRtRegistrations, delta);
      break;
    case Counter::Captures:
      UmwskRtCount(UmwskRtCaptures, delta);
      break;
  }
}

}  // namespace umwsk::provider

using namespace umwsk::provider;

extern "C" {

UMWSK_PROVIDER_API NTSTATUS WSKAPI WskRegister(PWSK_CLIENT_NPI WskClientNpi,
                                               PWSK_REGISTRATION WskRegistration) {
  UMWSK_REQUIRE_PASSIVE("WskRegister", WskRegistration);
  if (WskClientNpi == nullptr || WskRegistration == nullptr || WskClientNpi->Dispatch == nullptr) {
    return STATUS_INVALID_PARAMETER;
  }
  void* mem = pool_alloc(sizeof(Registration), kTagRegistration);
  if (mem == nullptr) return STATUS_INSUFFICIENT_RESOURCES;
  auto* reg = new (mem) Registration();
  reg->magic = kRegistrationMagic;
  reg->client_context = WskClientNpi->ClientContext;
  reg->client_dispatch = WskClientNpi->Dispatch;
  reg->version_ok = WSK_MAJOR_VERSION(WskClientNpi->Dispatch->Version) == 1;
  KeInitializeEvent(&reg->idle, NotificationEvent, FALSE);
  if (reg->version_ok) {
    reg->xnpi.client_context = reg;
    reg->xnpi.dispatch = &kXwskClientDispatch;
    xwsk::Status st = xwsk::register_client(&reg->xnpi, &reg->xreg);
    if (st == xwsk::Status::Success) {
      xwsk::ProviderNpi npi{};
      st = xwsk::capture_provider(&reg->xreg, xwsk::kInfiniteWait, &npi);
      if (st != xwsk::Status::Success) xwsk::deregister_client(&reg->xreg);
      reg->xclient = npi.client;
    }
    if (st != xwsk::Status::Success) {
      reg->magic = kDeadMagic;
      reg->~Registration();
      pool_free(reg, kTagRegistration);
      return nt(st);
    }
    reg->xwsk_registered = true;
    chaos_attach();
  }
  WskRegistration->ReservedRegistrationState = kRegisteredState;
  WskRegistration->ReservedRegistrationContext = reg;
  g_registrations.fetch_add(1, std::memory_order_acq_rel);
  count(Counter::Registrations, 1);
  return STATUS_SUCCESS;
}

UMWSK_PROVIDER_API NTSTATUS WSKAPI WskCaptureProviderNPI(PWSK_REGISTRATION WskRegistration,
                                                         ULONG WaitTimeout,
                                                         PWSK_PROVIDER_NPI WskProviderNpi) {
  // The NPI is available from WskRegister on: no wait is ever needed, but the IRQL rule stands.
  if (WaitTimeout != WSK_NO_WAIT) {
    UMWSK_REQUIRE_PASSIVE("WskCaptureProviderNPI with a wait", WskRegistration);
  } else if (KeGetCurrentIrql() > DISPATCH_LEVEL) {
    umwsk_rule_violation("irql.wsk_above_dispatch", WskRegistration,
                         "WskCaptureProviderNPI at IRQL %u (WSK requires <= DISPATCH_LEVEL)",
                         static_cast<unsigned>(KeGetCurrentIrql()));
  }
  // After WskDeregister (the block not freed or overwritten): STATUS_DEVICE_NOT_READY.
  if (WskRegistration != nullptr &&
      WskRegistration->ReservedRegistrationState == kDeregisteredState) {
    return STATUS_DEVICE_NOT_READY;
  }
  Registration* reg = from_registration(WskRegistration);
  if (reg == nullptr || WskProviderNpi == nullptr) return STATUS_INVALID_PARAMETER;
  if (!reg->version_ok) return STATUS_NOINTERFACE;
  reg->captures.fetch_add(1, std::memory_order_acq_rel);
  if (reg->deregistering.load(std::memory_order_acquire) != 0) {
    if (reg->captures.fetch_sub(1, std::memory_order_acq_rel) == 1) registration_changed(reg);
    return STATUS_DEVICE_NOT_READY;
  }
  count(Counter::Captures, 1);
  WskProviderNpi->Client = reg;
  WskProviderNpi->Dispatch = &kProviderDispatch;
  return STATUS_SUCCESS;
}

UMWSK_PROVIDER_API VOID WSKAPI WskReleaseProviderNPI(PWSK_REGISTRATION WskRegistration) {
  Registration* reg = from_registration(WskRegistration);
  if (reg == nullptr) return;
  int32_t cur = reg->captures.load(std::memory_order_acquire);
  while (cur > 0 && !reg->captures.compare_exchange_weak(cur, cur - 1, std::memory_order_acq_rel)) {
  }
  if (cur <= 0) return;  // more releases than captures: nothing to release
  count(Counter::Captures, -1);
  if (cur == 1) registration_changed(reg);
}

UMWSK_PROVIDER_API NTSTATUS WSKAPI WskQueryProviderCharacteristics(
    PWSK_REGISTRATION WskRegistration, PWSK_PROVIDER_CHARACTERISTICS WskProviderCharacteristics) {
  Registration* reg = from_registration(WskRegistration);
  if (reg == nullptr || WskProviderCharacteristics == nullptr) return STATUS_INVALID_PARAMETER;
  WskProviderCharacteristics->HighestVersion = kVersion;
  WskProviderCharacteristics->LowestVersion = kVersion;
  return STATUS_SUCCESS;
}

UMWSK_PROVIDER_API VOID WSKAPI WskDeregister(PWSK_REGISTRATION WskRegistration) {
  UMWSK_REQUIRE_PASSIVE("WskDeregister", WskRegistration);
  Registration* reg = from_registration(WskRegistration);
  if (reg == nullptr) return;
  reg->deregistering.store(1, std::memory_order_release);
  // Wake-ups come from the last release, close or call; the timeout only bounds a wake-up that
  // raced with the clear below.
  LARGE_INTEGER timeout;
  timeout.QuadPart = -10 * 1000 * 20;  // 20 ms, relative
  // Verifier: a WskDeregister still waiting after 10 s is reported (wsk.deregister_waiting)
  // instead of hanging silently: a capture never released or a socket never closed.
  const void* caller = __builtin_return_address(0);
  const ULONGLONG started = KeQueryInterruptTime();
  bool reported = false;
  while (!idle(reg)) {
    KeClearEvent(&reg->idle);
    if (idle(reg)) break;
    KeWaitForSingleObject(&reg->idle, Executive, KernelMode, FALSE, &timeout);
    if (!reported && KeQueryInterruptTime() - started > 10ull * 1000 * 1000 * 10) {
      reported = true;
      umwsk_rule_violation_at(caller, "wsk.deregister_waiting", WskRegistration,
                              "WskDeregister has waited 10 s: %d captures not released, %d "
                              "sockets not closed, %d calls in progress",
                              static_cast<int>(reg->captures.load()),
                              static_cast<int>(reg->sockets.load()),
                              static_cast<int>(reg->calls.load()));
    }
  }
  if (reg->xwsk_registered) {
    chaos_detach();
    xwsk::release_provider(&reg->xreg);
    xwsk::deregister_client(&reg->xreg);
  }
  WskRegistration->ReservedRegistrationState = kDeregisteredState;
  WskRegistration->ReservedRegistrationContext = nullptr;
  reg->magic = kDeadMagic;
  reg->~Registration();
  pool_free(reg, kTagRegistration);
  count(Counter::Registrations, -1);
  if (g_registrations.fetch_sub(1, std::memory_order_acq_rel) == 1) quarantine_flush();
}

}  // extern "C"
