// SPDX-License-Identifier: MIT
// xwsk_wsk.h: the WSK backend's one driver-facing knob, the provider profile.
//
// The WSK backend cannot ask the provider what it implements: Wine 8's netio.sys does not export
// WskQueryProviderCharacteristics, and its stubs return STATUS_NOT_IMPLEMENTED without ever
// completing the IRP (a request given to one would never complete). So the driver that links
// the backend tells it which provider it runs on. The default is Windows (everything present).
// The kernel test driver sets Wine8 when its loader reports it runs under Wine
// (IOCTL_XWSK_TEST_SET_PROFILE, tests/kernel/ktest_ioctl.h). See docs/wsk-backend.md.
#ifndef XWSK_BACKENDS_WSK_XWSK_WSK_H_
#define XWSK_BACKENDS_WSK_XWSK_WSK_H_

#include <stdint.h>

namespace xwsk::wsk {

enum class ProviderProfile : uint32_t {
  kWindows = 0,  ///< Real Windows WSK (Vista and later): every function present.
  kWine8 = 1,    ///< Wine 8.x netio.sys: listen/connection TCP over IPv4 and address info only.
};

/// Sets the provider profile. Call before the first register_client() (PASSIVE_LEVEL).
void set_provider_profile(ProviderProfile profile);
ProviderProfile provider_profile();
/// "windows" or "wine-8".
const char* provider_profile_name(ProviderProfile profile);

}  // namespace xwsk::wsk

#endif  // XWSK_BACKENDS_WSK_XWSK_WSK_H_
